//! The reference implementation, driven through `PoolService` with hand-built calls.

use poolcheck::codec::{encode, CimType, Encoding, Instance};
use poolcheck::reference::{Defect, ReferenceConfig, ReferenceService};
use poolcheck::sut::*;
use rstest::rstest;

// ---------------------------------------------------------------------------------------------
// Fixture facts (HostFixture::msvm_default)

const MEM: u16 = 4;
const MEM_SUB: &str = "Microsoft:Hyper-V:Memory";
const PROC: u16 = 3;
const PROC_SUB: &str = "Microsoft:Hyper-V:Processor";
const ETH: u16 = 33;
const ETH_SUB: &str = "Microsoft:Hyper-V:Ethernet Connection";
const VHD: u16 = 31;
const VHD_SUB: &str = "Microsoft:Hyper-V:Virtual Hard Disk";
const FC: u16 = 64764;
const FC_SUB: &str = "Microsoft:Hyper-V:FibreChannel Connection";

const INVALID: u32 = 32773;
const NOT_SUPPORTED: u32 = 32770;
const IN_USE: u32 = 32774;
const INCORRECT_TYPE: u32 = 32776;
const INSUFFICIENT: u32 = 32780;
const NOT_FOUND: u32 = 32781;
const EXISTS: u32 = 32788;

fn subtype_of(t: u16) -> &'static str {
    match t {
        MEM => MEM_SUB,
        PROC => PROC_SUB,
        ETH => ETH_SUB,
        VHD => VHD_SUB,
        FC => FC_SUB,
        _ => "Unknown",
    }
}

/// The `i`-th host resource of a type in the default fixture.
fn host_resource(t: u16, i: usize) -> String {
    HostFixture::msvm_default()
        .resource_types
        .iter()
        .find(|f| f.resource_type == t)
        .and_then(|f| f.host_resources.get(i).cloned())
        .expect("fixture resource")
}

// ---------------------------------------------------------------------------------------------
// Services

fn service(config: ReferenceConfig) -> ReferenceService {
    let mut s = ReferenceService::new(config.clone());
    let fixture = match config.dialect {
        Dialect::Msvm => HostFixture::msvm_default(),
        Dialect::Cim => HostFixture::cim_default(),
    };
    s.reset(&fixture).expect("reset");
    s
}

fn msvm() -> ReferenceService {
    service(ReferenceConfig::msvm_default())
}

fn msvm_sync() -> ReferenceService {
    service(ReferenceConfig::msvm_default().with_job_methods(&[]))
}

fn msvm_with(defect: Defect) -> ReferenceService {
    service(
        ReferenceConfig::msvm_default()
            .with_job_methods(&[])
            .with_defect(defect),
    )
}

fn cim() -> ReferenceService {
    service(ReferenceConfig::cim_default())
}

fn cim_sync() -> ReferenceService {
    service(ReferenceConfig::cim_default().with_job_methods(&[]))
}

fn snap(s: &mut ReferenceService) -> Snapshot {
    s.snapshot().expect("snapshot")
}

fn primordial(s: &mut ReferenceService, t: u16) -> ObjectPath {
    snap(s)
        .pools
        .into_iter()
        .find(|p| p.primordial && p.resource_type == t)
        .map(|p| p.path)
        .expect("primordial pool")
}

fn view(s: &mut ReferenceService, path: &ObjectPath) -> PoolView {
    snap(s).pool(path).cloned().expect("pool in snapshot")
}

// ---------------------------------------------------------------------------------------------
// Embedded instances

fn pool_settings(pool_id: &str, t: u16) -> String {
    let i = Instance::new("Msvm_ResourcePoolSettingData")
        .with_scalar("PoolID", CimType::String, pool_id)
        .with_scalar("ElementName", CimType::String, format!("{pool_id} name"))
        .with_scalar("ResourceType", CimType::Uint16, t.to_string())
        .with_scalar("ResourceSubType", CimType::String, subtype_of(t));
    encode(&i, Encoding::CimXml)
}

fn rasd(t: u16) -> Instance {
    Instance::new("Msvm_ResourceAllocationSettingData")
        .with_scalar("ResourceType", CimType::Uint16, t.to_string())
        .with_scalar("ResourceSubType", CimType::String, subtype_of(t))
}

/// A quantity allocation (CIM-XML).
fn qty(t: u16, reservation: u64) -> String {
    encode(
        &rasd(t).with_scalar("Reservation", CimType::Uint64, reservation.to_string()),
        Encoding::CimXml,
    )
}

/// A quantity allocation as MOF text.
fn qty_mof(t: u16, reservation: u64) -> String {
    encode(
        &rasd(t).with_scalar("Reservation", CimType::Uint64, reservation.to_string()),
        Encoding::Mof,
    )
}

/// A named or path allocation (CIM-XML).
fn named(t: u16, hrs: Vec<String>) -> String {
    encode(
        &rasd(t).with_array("HostResource", CimType::String, hrs),
        Encoding::CimXml,
    )
}

fn refs(paths: &[&ObjectPath]) -> ParamValue {
    ParamValue::ReferenceArray(paths.iter().map(|p| (*p).clone()).collect())
}

fn strings(items: &[String]) -> ParamValue {
    ParamValue::StringArray(items.to_vec())
}

fn create_pool_call(
    pool_id: &str,
    t: u16,
    parents: &[&ObjectPath],
    allocations: &[String],
) -> MethodCall {
    MethodCall::new(Method::CreatePool)
        .with(
            "PoolSettings",
            ParamValue::String(pool_settings(pool_id, t)),
        )
        .with("ParentPools", refs(parents))
        .with("AllocationSettings", strings(allocations))
}

fn modify_resources_call(
    child: &ObjectPath,
    parents: &[&ObjectPath],
    allocations: &[String],
) -> MethodCall {
    MethodCall::new(Method::ModifyPoolResources)
        .with("ChildPool", ParamValue::Reference(child.clone()))
        .with("ParentPools", refs(parents))
        .with("AllocationSettings", strings(allocations))
}

fn delete_call(pool: &ObjectPath) -> MethodCall {
    MethodCall::new(Method::DeletePool).with("Pool", ParamValue::Reference(pool.clone()))
}

fn create_child_call(
    element_name: Option<&str>,
    parents: &[&ObjectPath],
    settings: &[String],
) -> MethodCall {
    MethodCall::new(Method::CreateChildResourcePool)
        .with(
            "ElementName",
            element_name.map_or(ParamValue::Null, |n| ParamValue::String(n.into())),
        )
        .with("Settings", strings(settings))
        .with("ParentPool", refs(parents))
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/// What a call came to, after its job (if any) finished.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// ReturnValue 0 (or a job in state 7), with the new pool for creates.
    Done(Option<ObjectPath>),
    /// A refusal: the ReturnValue, or the ErrorCode of a job in state 10.
    Refused(u32),
    /// The CIM-status channel.
    Status(u32),
}

fn settle(s: &mut ReferenceService, reply: CallReply) -> Outcome {
    match reply {
        CallReply::CimError(e) => Outcome::Status(e.status),
        CallReply::Return(r) if r.return_value == 0 => {
            Outcome::Done(r.out_reference("Pool").cloned())
        }
        CallReply::Return(r) if r.return_value == JOB_STARTED => {
            let job = r.out_reference("Job").expect("4096 names a job").clone();
            for _ in 0..8 {
                let v = s.poll_job(&job).expect("poll");
                match v.job_state {
                    7 => return Outcome::Done(v.affected_elements.first().cloned()),
                    10 => return Outcome::Refused(u32::from(v.error_code)),
                    _ => {}
                }
            }
            panic!("job {job} did not finish in 8 polls")
        }
        CallReply::Return(r) => Outcome::Refused(r.return_value),
    }
}

fn call(s: &mut ReferenceService, c: MethodCall) -> Outcome {
    let reply = s.invoke(&c).expect("invoke answers");
    settle(s, reply)
}

fn created(o: Outcome) -> ObjectPath {
    match o {
        Outcome::Done(Some(p)) => p,
        other => panic!("expected a new pool, got {other:?}"),
    }
}

/// A memory child of the primordial pool holding `amount`.
fn mem_child(s: &mut ReferenceService, pool_id: &str, amount: u64) -> ObjectPath {
    let prim = primordial(s, MEM);
    created(call(
        s,
        create_pool_call(pool_id, MEM, &[&prim], &[qty(MEM, amount)]),
    ))
}

// ---------------------------------------------------------------------------------------------
// reset and describe

#[rstest]
#[case(ReferenceConfig::msvm_default())]
#[case(ReferenceConfig::cim_default())]
fn reset_gives_exactly_the_primordial_pools(#[case] config: ReferenceConfig) {
    let mut s = service(config);
    let fixture = HostFixture::msvm_default();
    let pools = snap(&mut s).pools;
    assert_eq!(pools.len(), fixture.resource_types.len());
    for (p, t) in pools.iter().zip(&fixture.resource_types) {
        assert!(p.primordial);
        assert_eq!(p.pool_id, "");
        assert_eq!(p.resource_type, t.resource_type);
        assert_eq!(p.resource_subtype, t.resource_subtype);
        assert_eq!(p.capacity, t.primordial_capacity());
        assert_eq!(p.reserved, 0);
        assert_eq!(p.host_resources, t.host_resources);
        assert!(p.allocations.is_empty());
    }
}

#[test]
fn reset_forgets_children_and_jobs() {
    let mut s = msvm();
    let prim = primordial(&mut s, MEM);
    let reply = s
        .invoke(&create_pool_call("A", MEM, &[&prim], &[qty(MEM, 8)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    let job = r.out_reference("Job").unwrap().clone();
    s.reset(&HostFixture::msvm_default()).unwrap();
    assert_eq!(snap(&mut s).pools.len(), 5);
    assert!(s.poll_job(&job).is_err());
}

#[test]
fn same_calls_give_same_paths() {
    let run = || {
        let mut s = msvm();
        let a = mem_child(&mut s, "A", 4);
        let b = mem_child(&mut s, "B", 4);
        (a, b, snap(&mut s))
    };
    assert_eq!(run(), run());
}

#[test]
fn methods_of_the_other_dialect_are_unsupported() {
    let mut s = msvm();
    let c = MethodCall::new(Method::DeleteResourcePool).with("Pool", ParamValue::Null);
    assert!(matches!(s.invoke(&c), Err(ServiceError::Unsupported(_))));
    let mut s = cim();
    let c = MethodCall::new(Method::DeletePool).with("Pool", ParamValue::Null);
    assert!(matches!(s.invoke(&c), Err(ServiceError::Unsupported(_))));
}

#[test]
fn describe_names_dialect_and_defects() {
    let s = service(ReferenceConfig::cim_default().with_defect(Defect::OffByOneCapacity));
    let d = s.describe();
    assert_eq!(d.dialect, Dialect::Cim);
    assert!(d.name.contains("off-by-one-capacity"), "{}", d.name);
}

// ---------------------------------------------------------------------------------------------
// Creating from the primordial pool

#[test]
fn msvm_create_sync_from_primordial() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let reply = s
        .invoke(&create_pool_call("Gold", MEM, &[&prim], &[qty(MEM, 16)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(r.return_value, 0);
    let pool = r.out_reference("Pool").expect("Pool output").clone();
    let v = view(&mut s, &pool);
    assert!(!v.primordial);
    assert_eq!(v.pool_id, "Gold");
    assert_eq!(v.element_name, "Gold name");
    assert_eq!(
        (v.resource_type, v.resource_subtype.as_str()),
        (MEM, MEM_SUB)
    );
    assert_eq!(v.capacity, 16);
    assert_eq!(v.reserved, 0);
    assert_eq!(
        v.allocations,
        vec![ParentAllocation {
            parent: prim.clone(),
            quantity: 16,
            host_resources: vec![]
        }]
    );
    assert_eq!(view(&mut s, &prim).reserved, 16);
}

#[test]
fn msvm_create_defaults_element_name_to_pool_id() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let settings = "instance of Msvm_ResourcePoolSettingData { PoolID = \"Plain\"; \
                    ResourceType = 4; ResourceSubType = \"Microsoft:Hyper-V:Memory\"; };";
    let c = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", ParamValue::String(settings.into()))
        .with("ParentPools", refs(&[&prim]))
        .with("AllocationSettings", strings(&[qty_mof(MEM, 2)]));
    let pool = created(call(&mut s, c));
    assert_eq!(view(&mut s, &pool).element_name, "Plain");
}

#[test]
fn literal_cim_xml_is_read() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, PROC);
    let settings = r#"<INSTANCE CLASSNAME="Msvm_ResourcePoolSettingData"><PROPERTY NAME="PoolID" TYPE="string"><VALUE>Cpu</VALUE></PROPERTY><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY><PROPERTY NAME="ResourceSubType" TYPE="string"><VALUE>Microsoft:Hyper-V:Processor</VALUE></PROPERTY></INSTANCE>"#;
    let alloc = r#"<INSTANCE CLASSNAME="Msvm_ProcessorSettingData"><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY><PROPERTY NAME="ResourceSubType" TYPE="string"><VALUE>Microsoft:Hyper-V:Processor</VALUE></PROPERTY><PROPERTY NAME="Reservation" TYPE="uint64"><VALUE>12</VALUE></PROPERTY><PROPERTY NAME="Limit" TYPE="uint64"><VALUE>20</VALUE></PROPERTY></INSTANCE>"#;
    let c = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", ParamValue::String(settings.into()))
        .with("ParentPools", refs(&[&prim]))
        .with("AllocationSettings", strings(&[alloc.to_string()]));
    let pool = created(call(&mut s, c));
    let v = view(&mut s, &pool);
    assert_eq!((v.pool_id.as_str(), v.capacity), ("Cpu", 12));
}

#[test]
fn msvm_create_job_completes_on_second_poll() {
    let mut s = msvm();
    let prim = primordial(&mut s, MEM);
    let before = snap(&mut s);
    let reply = s
        .invoke(&create_pool_call("J", MEM, &[&prim], &[qty(MEM, 8)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(r.return_value, JOB_STARTED);
    assert_eq!(r.out_reference("Pool"), None);
    let job = r.out_reference("Job").expect("Job output").clone();
    assert_eq!(snap(&mut s), before, "nothing happens before the job runs");

    let first = s.poll_job(&job).unwrap();
    assert_eq!(
        (first.job_state, first.error_code, first.job_type),
        (4, 0, 150)
    );
    assert_eq!(snap(&mut s), before);

    let second = s.poll_job(&job).unwrap();
    assert_eq!(
        (second.job_state, second.error_code, second.job_type),
        (7, 0, 150)
    );
    let [pool] = second.affected_elements.as_slice() else {
        panic!("{second:?}")
    };
    assert_eq!(view(&mut s, pool).capacity, 8);
    assert_eq!(s.poll_job(&job).unwrap(), second, "terminal views repeat");
    assert_eq!(snap(&mut s).pools.len(), 6);
}

#[test]
fn msvm_create_job_that_fails_reports_exception_without_trace() {
    let mut s = msvm();
    let prim = primordial(&mut s, MEM);
    let before = snap(&mut s);
    let reply = s
        .invoke(&create_pool_call("Big", MEM, &[&prim], &[qty(MEM, 65)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        r.return_value, JOB_STARTED,
        "capacity is checked in the job"
    );
    let job = r.out_reference("Job").unwrap().clone();
    assert_eq!(s.poll_job(&job).unwrap().job_state, 4);
    let end = s.poll_job(&job).unwrap();
    assert_eq!((end.job_state, end.error_code), (10, INSUFFICIENT as u16));
    assert!(
        end.error_description.contains("65"),
        "{}",
        end.error_description
    );
    assert_eq!(snap(&mut s), before);
}

#[test]
fn job_method_refuses_parameter_errors_synchronously() {
    let mut s = msvm();
    let c = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", ParamValue::Null)
        .with("ParentPools", refs(&[]))
        .with("AllocationSettings", strings(&[]));
    let reply = s.invoke(&c).unwrap();
    assert_invalid_with_error(&reply);
}

/// Invalid Parameter through the ReturnValue, with the `Error` output parameter (a
/// `CIM_Error` saying what was wrong; tests/codec.rs checks its message).
fn assert_invalid_with_error(reply: &CallReply) {
    assert!(
        matches!(reply, CallReply::Return(r) if r.return_value == INVALID
            && r.out_params.len() == 1 && r.out_params[0].name == "Error"),
        "{reply:?}"
    );
}

#[test]
fn unknown_job_is_a_protocol_error() {
    let mut s = msvm();
    assert!(matches!(
        s.poll_job(&ObjectPath::new("nope")),
        Err(ServiceError::Protocol(_))
    ));
}

#[rstest]
#[case::sync(cim_sync())]
#[case::job(cim())]
fn cim_create_child_from_primordial(#[case] mut s: ReferenceService) {
    let prim = primordial(&mut s, MEM);
    let a = created(call(
        &mut s,
        create_child_call(None, &[&prim], &[qty(MEM, 10)]),
    ));
    let b = created(call(
        &mut s,
        create_child_call(Some("Named"), &[&prim], &[qty(MEM, 5)]),
    ));
    let (va, vb) = (view(&mut s, &a), view(&mut s, &b));
    assert!(
        !va.element_name.is_empty(),
        "NULL ElementName gets a default"
    );
    assert_eq!(vb.element_name, "Named");
    assert!(!va.pool_id.is_empty() && va.pool_id != vb.pool_id);
    assert_eq!((va.capacity, vb.capacity), (10, 5));
    assert_eq!(view(&mut s, &prim).reserved, 15);
}

#[test]
fn cim_job_uses_cim_codes_and_no_job_type() {
    let mut s = cim();
    let prim = primordial(&mut s, MEM);
    let reply = s
        .invoke(&create_child_call(None, &[&prim], &[qty(MEM, 100)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    let job = r.out_reference("Job").unwrap().clone();
    s.poll_job(&job).unwrap();
    let end = s.poll_job(&job).unwrap();
    assert_eq!((end.job_state, end.error_code, end.job_type), (10, 8, 0));
}

// ---------------------------------------------------------------------------------------------
// Capacity

#[rstest]
#[case::all_of_it(64, Outcome::Done(None))]
#[case::nothing(0, Outcome::Done(None))]
#[case::one_too_many(65, Outcome::Refused(INSUFFICIENT))]
#[case::u64_max(u64::MAX, Outcome::Refused(INSUFFICIENT))]
fn exact_free_capacity_boundary(#[case] amount: u64, #[case] expected: Outcome) {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let before = snap(&mut s);
    let out = call(
        &mut s,
        create_pool_call("B", MEM, &[&prim], &[qty(MEM, amount)]),
    );
    match expected {
        Outcome::Done(_) => {
            let p = created(out);
            assert_eq!(view(&mut s, &prim).reserved, amount);
            assert_eq!(view(&mut s, &p).capacity, amount);
        }
        other => {
            assert_eq!(out, other);
            assert_eq!(snap(&mut s), before);
        }
    }
}

#[test]
fn free_capacity_shrinks_with_each_child() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    mem_child(&mut s, "A", 40);
    let out = call(
        &mut s,
        create_pool_call("B", MEM, &[&prim], &[qty(MEM, 25)]),
    );
    assert_eq!(out, Outcome::Refused(INSUFFICIENT));
    mem_child(&mut s, "C", 24);
    assert_eq!(view(&mut s, &prim).reserved, 64);
}

#[test]
fn limit_below_reservation_is_invalid() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let alloc = encode(
        &rasd(MEM)
            .with_scalar("Reservation", CimType::Uint64, "10")
            .with_scalar("Limit", CimType::Uint64, "9"),
        Encoding::CimXml,
    );
    let out = call(&mut s, create_pool_call("L", MEM, &[&prim], &[alloc]));
    assert_eq!(out, Outcome::Refused(INVALID));
}

#[test]
fn quantity_allocation_needs_a_reservation() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let alloc = encode(&rasd(MEM), Encoding::CimXml);
    let out = call(&mut s, create_pool_call("R", MEM, &[&prim], &[alloc]));
    assert_eq!(out, Outcome::Refused(INVALID));
}

#[test]
fn snapshot_accounting_over_three_levels() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 40);
    let b = created(call(
        &mut s,
        create_pool_call("B", MEM, &[&a], &[qty(MEM, 10)]),
    ));
    created(call(
        &mut s,
        create_pool_call("C", MEM, &[&b], &[qty(MEM, 3)]),
    ));
    let (p, va, vb) = (view(&mut s, &prim), view(&mut s, &a), view(&mut s, &b));
    assert_eq!(
        (p.capacity, p.reserved),
        (64, 40),
        "a child's holding covers its descendants"
    );
    assert_eq!((va.capacity, va.reserved), (40, 10));
    assert_eq!((vb.capacity, vb.reserved), (10, 3));
    // A grandchild can take only what its parent has free.
    let out = call(&mut s, create_pool_call("D", MEM, &[&b], &[qty(MEM, 8)]));
    assert_eq!(out, Outcome::Refused(INSUFFICIENT));
}

#[test]
fn named_accounting_counts_host_resources() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, ETH);
    let (a, b) = (host_resource(ETH, 0), host_resource(ETH, 1));
    let child = created(call(
        &mut s,
        create_pool_call(
            "E",
            ETH,
            &[&prim],
            &[named(ETH, vec![a.clone(), b.clone(), a.clone()])],
        ),
    ));
    let v = view(&mut s, &child);
    assert_eq!(
        (v.capacity, v.host_resources.clone()),
        (2, vec![a.clone(), b.clone()])
    );
    assert_eq!(view(&mut s, &prim).reserved, 2);
    // Another child of the same parent may hold the same switch.
    created(call(
        &mut s,
        create_pool_call("E2", ETH, &[&prim], &[named(ETH, vec![a.clone()])]),
    ));
    assert_eq!(view(&mut s, &prim).reserved, 2);
    // A grandchild takes from the child only what the child has.
    created(call(
        &mut s,
        create_pool_call("G", ETH, &[&child], &[named(ETH, vec![b.clone()])]),
    ));
    assert_eq!(view(&mut s, &child).reserved, 1);
    let c = host_resource(ETH, 2);
    let out = call(
        &mut s,
        create_pool_call("H", ETH, &[&child], &[named(ETH, vec![c])]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
}

#[test]
fn empty_host_resource_holds_nothing() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, FC);
    let alloc = encode(&rasd(FC), Encoding::CimXml);
    let child = created(call(
        &mut s,
        create_pool_call("San", FC, &[&prim], &[alloc]),
    ));
    let v = view(&mut s, &child);
    assert_eq!((v.capacity, v.host_resources.len()), (0, 0));
    assert_eq!(v.allocations.len(), 1);
}

#[test]
fn storage_paths_under_a_parent_path_qualify() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, VHD);
    let under = r"C:\VMs\Gold".to_string();
    let child = created(call(
        &mut s,
        create_pool_call("Disk", VHD, &[&prim], &[named(VHD, vec![under.clone()])]),
    ));
    assert_eq!(view(&mut s, &child).host_resources, vec![under]);
    assert_eq!(view(&mut s, &prim).reserved, 1);
    let sibling = r"C:\VMsX".to_string();
    let out = call(
        &mut s,
        create_pool_call("Bad", VHD, &[&prim], &[named(VHD, vec![sibling])]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
}

// ---------------------------------------------------------------------------------------------
// Shared allocations

/// Two memory children of the primordial pool, of 20 and 30.
fn two_parents(s: &mut ReferenceService) -> (ObjectPath, ObjectPath) {
    (mem_child(s, "P1", 20), mem_child(s, "P2", 30))
}

#[test]
fn shared_quantity_splits_greedily_in_parent_order() {
    let mut s = msvm_sync();
    let (p1, p2) = two_parents(&mut s);
    let c = created(call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &p2], &[qty(MEM, 35)]),
    ));
    let v = view(&mut s, &c);
    assert_eq!(v.capacity, 35);
    let parts: Vec<(ObjectPath, u64)> = v
        .allocations
        .iter()
        .map(|a| (a.parent.clone(), a.quantity))
        .collect();
    assert_eq!(parts, vec![(p1.clone(), 20), (p2.clone(), 15)]);
    assert_eq!(
        (view(&mut s, &p1).reserved, view(&mut s, &p2).reserved),
        (20, 15)
    );
}

#[rstest]
#[case::aggregate(50, None)]
#[case::one_more(51, Some(INSUFFICIENT))]
fn shared_quantity_against_aggregate_free(#[case] amount: u64, #[case] refused: Option<u32>) {
    let mut s = msvm_sync();
    let (p1, p2) = two_parents(&mut s);
    let before = snap(&mut s);
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &p2], &[qty(MEM, amount)]),
    );
    match refused {
        None => assert_eq!(view(&mut s, &created(out)).capacity, amount),
        Some(code) => {
            assert_eq!(out, Outcome::Refused(code));
            assert_eq!(snap(&mut s), before);
        }
    }
}

#[test]
fn shared_named_takes_each_resource_from_the_first_parent_that_has_it() {
    let mut s = service(ReferenceConfig {
        types: vec![poolcheck::reference::TypePolicy::new(ETH, ETH_SUB, true, 0)],
        ..ReferenceConfig::msvm_default().with_job_methods(&[])
    });
    let prim = primordial(&mut s, ETH);
    let (a, b, c) = (
        host_resource(ETH, 0),
        host_resource(ETH, 1),
        host_resource(ETH, 2),
    );
    let p1 = created(call(
        &mut s,
        create_pool_call("P1", ETH, &[&prim], &[named(ETH, vec![a.clone()])]),
    ));
    let p2 = created(call(
        &mut s,
        create_pool_call(
            "P2",
            ETH,
            &[&prim],
            &[named(ETH, vec![a.clone(), b.clone()])],
        ),
    ));
    let child = created(call(
        &mut s,
        create_pool_call(
            "C",
            ETH,
            &[&p1, &p2],
            &[named(ETH, vec![b.clone(), a.clone()])],
        ),
    ));
    let v = view(&mut s, &child);
    let held: Vec<Vec<String>> = v
        .allocations
        .iter()
        .map(|x| x.host_resources.clone())
        .collect();
    assert_eq!(held, vec![vec![a.clone()], vec![b.clone()]]);
    let out = call(
        &mut s,
        create_pool_call("D", ETH, &[&p1, &p2], &[named(ETH, vec![c])]),
    );
    assert_eq!(out, Outcome::Refused(INVALID), "no parent has SW-C");
}

#[test]
fn shared_on_a_type_without_support_is_not_supported() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, ETH);
    let a = host_resource(ETH, 0);
    let p1 = created(call(
        &mut s,
        create_pool_call("P1", ETH, &[&prim], &[named(ETH, vec![a.clone()])]),
    ));
    let out = call(
        &mut s,
        create_pool_call("C", ETH, &[&prim, &p1], &[named(ETH, vec![a])]),
    );
    assert_eq!(out, Outcome::Refused(NOT_SUPPORTED));
}

// ---------------------------------------------------------------------------------------------
// Arguments

#[rstest]
#[case::none(0, Some(INVALID))]
#[case::one_shared(1, None)]
#[case::two_of_three(2, Some(INVALID))]
#[case::one_each(3, None)]
#[case::four_of_three(4, Some(INVALID))]
fn allocation_count_for_three_parents(#[case] count: usize, #[case] refused: Option<u32>) {
    let mut s = msvm_sync();
    let parents = [
        mem_child(&mut s, "P1", 8),
        mem_child(&mut s, "P2", 8),
        mem_child(&mut s, "P3", 8),
    ];
    let before = snap(&mut s);
    let allocs = vec![qty(MEM, 2); count];
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&parents[0], &parents[1], &parents[2]], &allocs),
    );
    match refused {
        None => {
            let v = view(&mut s, &created(out));
            assert_eq!(v.allocations.len(), 3);
            assert_eq!(v.capacity, if count == 1 { 2 } else { 6 });
        }
        Some(code) => {
            assert_eq!(out, Outcome::Refused(code));
            assert_eq!(snap(&mut s), before);
        }
    }
}

#[test]
fn no_parents_and_duplicate_parents_are_invalid() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let out = call(&mut s, create_pool_call("C", MEM, &[], &[qty(MEM, 1)]));
    assert_eq!(out, Outcome::Refused(INVALID));
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&prim, &prim], &[qty(MEM, 1), qty(MEM, 1)]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
}

#[test]
fn more_parents_than_max_parent_pools_is_invalid() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, FC);
    let empty = encode(&rasd(FC), Encoding::CimXml);
    let p1 = created(call(
        &mut s,
        create_pool_call("S1", FC, &[&prim], std::slice::from_ref(&empty)),
    ));
    let out = call(
        &mut s,
        create_pool_call("S2", FC, &[&prim, &p1], &[empty.clone(), empty]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
}

fn full_create_call(s: &mut ReferenceService) -> MethodCall {
    let prim = primordial(s, MEM);
    create_pool_call("A", MEM, &[&prim], &[qty(MEM, 1)])
}

#[rstest]
#[case::missing(|c: &mut MethodCall| { c.params.remove(1); })]
#[case::duplicate(|c: &mut MethodCall| { let p = c.params[0].clone(); c.params.push(p); })]
#[case::unknown_name(|c: &mut MethodCall| c.params.push(Param { name: "Bogus".into(), value: ParamValue::Null }))]
#[case::wrong_kind(|c: &mut MethodCall| c.params[1].value = ParamValue::String("x".into()))]
#[case::scalar_for_array(|c: &mut MethodCall| c.params[2].value = ParamValue::String(qty(MEM, 1)))]
fn malformed_calls_are_refused_on_the_status_channel(#[case] mangle: fn(&mut MethodCall)) {
    let mut s = msvm_sync();
    let mut c = full_create_call(&mut s);
    mangle(&mut c);
    let before = snap(&mut s);
    assert_eq!(call(&mut s, c), Outcome::Status(4));
    assert_eq!(snap(&mut s), before);
}

#[test]
fn parameter_names_compare_case_insensitively() {
    let mut s = msvm_sync();
    let mut c = full_create_call(&mut s);
    c.params[0].name = "poolsettings".into();
    assert!(matches!(call(&mut s, c), Outcome::Done(Some(_))));
}

#[rstest]
#[case::null(ParamValue::Null)]
#[case::truncated(ParamValue::String(pool_settings("X", MEM)[..40].to_string()))]
#[case::not_an_instance(ParamValue::String("<CLASS NAME=\"Msvm_ResourcePoolSettingData\"/>".into()))]
#[case::wrong_class(ParamValue::String(qty(MEM, 1)))]
#[case::dtd(ParamValue::String("<!DOCTYPE x [<!ENTITY e \"e\">]><INSTANCE CLASSNAME=\"Msvm_ResourcePoolSettingData\"/>".into()))]
#[case::type_out_of_range(ParamValue::String(encode(
    &Instance::new("Msvm_ResourcePoolSettingData")
        .with_scalar("PoolID", CimType::String, "X")
        .with_scalar("ResourceType", CimType::Uint32, "70000")
        .with_scalar("ResourceSubType", CimType::String, MEM_SUB),
    Encoding::CimXml)))]
#[case::missing_pool_id(ParamValue::String(encode(
    &Instance::new("Msvm_ResourcePoolSettingData")
        .with_scalar("ResourceType", CimType::Uint16, "4")
        .with_scalar("ResourceSubType", CimType::String, MEM_SUB),
    Encoding::CimXml)))]
#[case::empty(ParamValue::String(String::new()))]
fn malformed_pool_settings_are_invalid_parameter(#[case] settings: ParamValue) {
    let mut s = msvm();
    let prim = primordial(&mut s, MEM);
    let before = snap(&mut s);
    let c = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", settings)
        .with("ParentPools", refs(&[&prim]))
        .with("AllocationSettings", strings(&[qty(MEM, 1)]));
    // Refused synchronously, even though CreatePool is a job method here.
    assert_invalid_with_error(&s.invoke(&c).unwrap());
    assert_eq!(snap(&mut s), before);
}

#[test]
fn malformed_allocation_is_invalid_parameter() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let negative = "instance of Msvm_ResourceAllocationSettingData { ResourceType = 4; \
                    ResourceSubType = \"Microsoft:Hyper-V:Memory\"; Reservation = -1; };";
    let out = call(
        &mut s,
        create_pool_call("N", MEM, &[&prim], &[negative.to_string()]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
}

#[test]
fn types_must_agree() {
    let mut s = msvm_sync();
    let mem = primordial(&mut s, MEM);
    let proc = primordial(&mut s, PROC);
    let out = call(&mut s, create_pool_call("X", MEM, &[&proc], &[qty(MEM, 1)]));
    assert_eq!(
        out,
        Outcome::Refused(INCORRECT_TYPE),
        "parent of another type"
    );
    let out = call(&mut s, create_pool_call("X", MEM, &[&mem], &[qty(PROC, 1)]));
    assert_eq!(
        out,
        Outcome::Refused(INCORRECT_TYPE),
        "allocation of another type"
    );
    let out = call(&mut s, create_pool_call("X", 999, &[&mem], &[qty(999, 1)]));
    assert_eq!(
        out,
        Outcome::Refused(INCORRECT_TYPE),
        "a type the host lacks"
    );
}

#[test]
fn pool_ids_are_unique_per_type() {
    let mut s = msvm_sync();
    mem_child(&mut s, "Same", 1);
    let prim = primordial(&mut s, MEM);
    let out = call(
        &mut s,
        create_pool_call("Same", MEM, &[&prim], &[qty(MEM, 1)]),
    );
    assert_eq!(out, Outcome::Refused(EXISTS));
    let out = call(&mut s, create_pool_call("", MEM, &[&prim], &[qty(MEM, 1)]));
    assert_eq!(
        out,
        Outcome::Refused(EXISTS),
        "the primordial pool holds \"\""
    );
    let proc = primordial(&mut s, PROC);
    created(call(
        &mut s,
        create_pool_call("Same", PROC, &[&proc], &[qty(PROC, 1)]),
    ));
}

#[test]
fn unknown_pools_are_object_not_found() {
    let mut s = msvm_sync();
    let ghost = ObjectPath::new(
        r#"\\POOLHOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="ghost""#,
    );
    let out = call(
        &mut s,
        create_pool_call("G", MEM, &[&ghost], &[qty(MEM, 1)]),
    );
    assert_eq!(out, Outcome::Refused(NOT_FOUND));
    assert_eq!(
        call(&mut s, delete_call(&ghost)),
        Outcome::Refused(NOT_FOUND)
    );
    let out = call(&mut s, modify_resources_call(&ghost, &[], &[]));
    assert!(matches!(out, Outcome::Refused(NOT_FOUND)), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Modify and delete

#[test]
fn delete_in_use_then_delete_releases() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 30);
    let b = created(call(
        &mut s,
        create_pool_call("B", MEM, &[&a], &[qty(MEM, 10)]),
    ));
    let before = snap(&mut s);
    assert_eq!(call(&mut s, delete_call(&a)), Outcome::Refused(IN_USE));
    assert_eq!(snap(&mut s), before);
    assert_eq!(call(&mut s, delete_call(&b)), Outcome::Done(None));
    assert_eq!(view(&mut s, &a).reserved, 0);
    assert_eq!(call(&mut s, delete_call(&a)), Outcome::Done(None));
    assert_eq!(view(&mut s, &prim).reserved, 0);
    assert_eq!(snap(&mut s).pools.len(), 5);
}

#[test]
fn primordial_pools_cannot_be_changed() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let other = mem_child(&mut s, "A", 4);
    let before = snap(&mut s);
    assert_eq!(call(&mut s, delete_call(&prim)), Outcome::Refused(INVALID));
    let out = call(
        &mut s,
        modify_resources_call(&prim, &[&other], &[qty(MEM, 1)]),
    );
    assert_eq!(out, Outcome::Refused(INVALID));
    let c = MethodCall::new(Method::ModifyPoolSettings)
        .with("ChildPool", ParamValue::Reference(prim.clone()))
        .with("PoolSettings", ParamValue::String(pool_settings("", MEM)));
    assert_eq!(call(&mut s, c), Outcome::Refused(INVALID));
    assert_eq!(snap(&mut s), before);

    let mut s = cim_sync();
    let prim = primordial(&mut s, MEM);
    let c = MethodCall::new(Method::DeleteResourcePool).with("Pool", ParamValue::Reference(prim));
    assert_eq!(call(&mut s, c), Outcome::Refused(5));
}

#[test]
fn modify_pool_resources_counts_old_holdings_as_free() {
    let mut s = msvm();
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 40);
    // 64 − 40 = 24 free, but A's own 40 comes back first.
    let reply = s
        .invoke(&modify_resources_call(&a, &[&prim], &[qty(MEM, 64)]))
        .unwrap();
    let CallReply::Return(r) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!(r.return_value, JOB_STARTED);
    let job = r.out_reference("Job").unwrap().clone();
    assert_eq!(s.poll_job(&job).unwrap().job_type, 151);
    assert_eq!(settle(&mut s, reply), Outcome::Done(None));
    assert_eq!(view(&mut s, &a).capacity, 64);
    assert_eq!(view(&mut s, &prim).reserved, 64);
}

#[test]
fn modify_pool_resources_replaces_parents() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let (p1, p2) = two_parents(&mut s);
    let c = created(call(
        &mut s,
        create_pool_call("C", MEM, &[&p1], &[qty(MEM, 5)]),
    ));
    let out = call(
        &mut s,
        modify_resources_call(&c, &[&p2, &prim], &[qty(MEM, 7), qty(MEM, 3)]),
    );
    assert_eq!(out, Outcome::Done(None));
    let v = view(&mut s, &c);
    let parts: Vec<(ObjectPath, u64)> = v
        .allocations
        .iter()
        .map(|a| (a.parent.clone(), a.quantity))
        .collect();
    assert_eq!(parts, vec![(p2.clone(), 7), (prim.clone(), 3)]);
    assert_eq!(view(&mut s, &p1).reserved, 0);
    assert_eq!(view(&mut s, &p2).reserved, 7);
    assert_eq!(view(&mut s, &prim).reserved, 53);
}

#[test]
fn modify_pool_resources_refuses_shrinking_below_children_and_cycles() {
    let mut s = msvm_sync();
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 20);
    let b = created(call(
        &mut s,
        create_pool_call("B", MEM, &[&a], &[qty(MEM, 10)]),
    ));
    let before = snap(&mut s);
    let out = call(&mut s, modify_resources_call(&a, &[&prim], &[qty(MEM, 9)]));
    assert_eq!(out, Outcome::Refused(IN_USE));
    let out = call(&mut s, modify_resources_call(&a, &[&b], &[qty(MEM, 1)]));
    assert_eq!(out, Outcome::Refused(INVALID), "B descends from A");
    let out = call(&mut s, modify_resources_call(&a, &[&a], &[qty(MEM, 1)]));
    assert_eq!(out, Outcome::Refused(INVALID), "A cannot be its own parent");
    assert_eq!(snap(&mut s), before);
}

#[test]
fn modify_pool_settings_renames_and_keeps_allocation() {
    let mut s = msvm_sync();
    let a = mem_child(&mut s, "A", 10);
    mem_child(&mut s, "Taken", 1);
    let no_name = encode(
        &Instance::new("Msvm_ResourcePoolSettingData")
            .with_scalar("PoolID", CimType::String, "Renamed")
            .with_scalar("ResourceType", CimType::Uint16, "4")
            .with_scalar("ResourceSubType", CimType::String, MEM_SUB),
        Encoding::CimXml,
    );
    let modify = |settings: String| {
        MethodCall::new(Method::ModifyPoolSettings)
            .with("ChildPool", ParamValue::Reference(a.clone()))
            .with("PoolSettings", ParamValue::String(settings))
    };
    assert_eq!(call(&mut s, modify(no_name)), Outcome::Done(None));
    let v = view(&mut s, &a);
    assert_eq!(
        (v.pool_id.as_str(), v.element_name.as_str(), v.capacity),
        ("Renamed", "A name", 10)
    );
    assert_eq!(
        call(&mut s, modify(pool_settings("Taken", MEM))),
        Outcome::Refused(EXISTS)
    );
    assert_eq!(
        call(&mut s, modify(pool_settings("P", PROC))),
        Outcome::Refused(INCORRECT_TYPE)
    );
    assert_eq!(
        call(&mut s, modify(pool_settings("Final", MEM))),
        Outcome::Done(None)
    );
    assert_eq!(view(&mut s, &a).element_name, "Final name");
}

// ---------------------------------------------------------------------------------------------
// CIM root pools

fn create_root(s: &mut ReferenceService, resource_type: &str, hrs: Vec<String>) -> Outcome {
    let c = MethodCall::new(Method::CreateResourcePool)
        .with("ElementName", ParamValue::String("Root".into()))
        .with(
            "HostResources",
            ParamValue::ReferenceArray(hrs.iter().map(ObjectPath::new).collect()),
        )
        .with("ResourceType", ParamValue::String(resource_type.into()));
    call(s, c)
}

fn root_resources(
    s: &mut ReferenceService,
    method: Method,
    pool: &ObjectPath,
    hrs: Vec<String>,
) -> Outcome {
    let c = MethodCall::new(method)
        .with(
            "HostResources",
            ParamValue::ReferenceArray(hrs.iter().map(ObjectPath::new).collect()),
        )
        .with("Pool", ParamValue::Reference(pool.clone()));
    call(s, c)
}

#[test]
fn cim_root_pools_hold_host_resources_exclusively() {
    let mut s = cim_sync();
    let (a, b, c) = (
        host_resource(ETH, 0),
        host_resource(ETH, 1),
        host_resource(ETH, 2),
    );
    let root = created(create_root(&mut s, "33", vec![a.clone(), b.clone()]));
    let v = view(&mut s, &root);
    assert_eq!((v.capacity, v.reserved, v.primordial), (2, 0, false));
    assert_eq!(v.element_name, "Root");
    assert_eq!(
        create_root(&mut s, "33", vec![b.clone()]),
        Outcome::Refused(6)
    );

    let add = Method::AddResourcesToResourcePool;
    let remove = Method::RemoveResourcesFromResourcePool;
    assert_eq!(
        root_resources(&mut s, add, &root, vec![c.clone()]),
        Outcome::Done(None)
    );
    assert_eq!(view(&mut s, &root).capacity, 3);
    assert_eq!(
        root_resources(&mut s, add, &root, vec![a.clone()]),
        Outcome::Refused(6)
    );
    assert_eq!(
        root_resources(&mut s, remove, &root, vec![c.clone()]),
        Outcome::Done(None)
    );
    assert_eq!(
        root_resources(&mut s, remove, &root, vec![c.clone()]),
        Outcome::Refused(5)
    );

    // A child of the root pool pins what it holds.
    let child = created(call(
        &mut s,
        create_child_call(Some("Kid"), &[&root], &[named(ETH, vec![b.clone()])]),
    ));
    assert_eq!(view(&mut s, &root).reserved, 1);
    assert_eq!(
        root_resources(&mut s, remove, &root, vec![b.clone()]),
        Outcome::Refused(6)
    );
    let del = |p: &ObjectPath| {
        MethodCall::new(Method::DeleteResourcePool).with("Pool", ParamValue::Reference(p.clone()))
    };
    assert_eq!(call(&mut s, del(&root)), Outcome::Refused(6));
    assert_eq!(
        root_resources(&mut s, add, &child, vec![c.clone()]),
        Outcome::Refused(5),
        "child target"
    );
    assert_eq!(call(&mut s, del(&child)), Outcome::Done(None));
    assert_eq!(call(&mut s, del(&root)), Outcome::Done(None));
    // HOST-005: the resources went back to the host.
    let again = created(create_root(&mut s, "33", vec![a, b]));
    assert_eq!(view(&mut s, &again).capacity, 2);
}

#[rstest]
#[case::quantity_type("4", vec![], 1)]
#[case::not_decimal("x33", vec![], 5)]
#[case::out_of_range("70000", vec![], 5)]
#[case::type_the_host_lacks("999", vec![], 7)]
#[case::resource_of_another_type("33", vec![host_resource(FC, 0)], 7)]
#[case::unknown_resource("33", vec!["nowhere".to_string()], 5)]
#[case::named_twice("33", vec![host_resource(ETH, 0), host_resource(ETH, 0)], 5)]
fn cim_create_resource_pool_refusals(
    #[case] rt: &str,
    #[case] hrs: Vec<String>,
    #[case] code: u32,
) {
    let mut s = cim_sync();
    let before = snap(&mut s);
    assert_eq!(create_root(&mut s, rt, hrs), Outcome::Refused(code));
    assert_eq!(snap(&mut s), before);
}

#[test]
fn cim_change_parent_moves_a_child_between_roots() {
    let mut s = cim();
    let (a, b) = (host_resource(ETH, 0), host_resource(ETH, 1));
    let r1 = created(create_root(&mut s, "33", vec![a.clone()]));
    let r2 = created(create_root(&mut s, "33", vec![b.clone()]));
    let child = created(call(
        &mut s,
        create_child_call(None, &[&r1], &[named(ETH, vec![a.clone()])]),
    ));
    let c = MethodCall::new(Method::ChangeParentResourcePool)
        .with("ChildPool", ParamValue::Reference(child.clone()))
        .with("ParentPool", refs(&[&r2]))
        .with("Settings", strings(&[named(ETH, vec![b.clone()])]));
    assert_eq!(call(&mut s, c), Outcome::Done(None));
    let v = view(&mut s, &child);
    assert_eq!(v.host_resources, vec![b]);
    assert_eq!(
        (view(&mut s, &r1).reserved, view(&mut s, &r2).reserved),
        (0, 1)
    );
    // A root pool has no parents to change.
    let c = MethodCall::new(Method::ChangeParentResourcePool)
        .with("ChildPool", ParamValue::Reference(r1.clone()))
        .with("ParentPool", refs(&[&r2]))
        .with("Settings", strings(&[named(ETH, vec![])]));
    assert_eq!(call(&mut s, c), Outcome::Refused(5));
}

// ---------------------------------------------------------------------------------------------
// Robustness

#[test]
fn hostile_values_never_panic() {
    let texts = [
        String::new(),
        "<".repeat(10_000),
        "instance of".into(),
        format!("<INSTANCE CLASSNAME=\"Msvm_ResourceAllocationSettingData\"><PROPERTY NAME=\"Reservation\" TYPE=\"uint64\"><VALUE>{}</VALUE></PROPERTY></INSTANCE>", u64::MAX),
        "\u{0}\u{FEFF}\u{FFFF}".into(),
        qty(MEM, u64::MAX),
    ];
    let values = |s: &mut ReferenceService| {
        let prim = primordial(s, MEM);
        let mut v = vec![
            ParamValue::Null,
            ParamValue::ReferenceArray(vec![prim.clone(), prim.clone()]),
            ParamValue::Reference(prim),
            ParamValue::ReferenceArray(vec![ObjectPath::new("")]),
        ];
        for t in &texts {
            v.push(ParamValue::String(t.clone()));
            v.push(ParamValue::StringArray(vec![t.clone(), t.clone()]));
        }
        v
    };
    for config in [
        ReferenceConfig::msvm_default(),
        ReferenceConfig::cim_default().with_defect(Defect::Permissive),
    ] {
        let mut s = service(config.clone());
        let vals = values(&mut s);
        for &method in config.dialect.methods() {
            for v in &vals {
                let mut c = MethodCall::new(method);
                for (name, _) in method.input_parameters() {
                    c = c.with(name, v.clone());
                }
                let reply = s.invoke(&c).expect("answers");
                settle(&mut s, reply);
                s.snapshot().expect("snapshot");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Defects

#[test]
fn defect_names_are_distinct_kebab_case() {
    let mut names: Vec<&str> = Defect::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(names.len(), 27);
    assert!(names
        .iter()
        .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !n.starts_with('-')));
    for d in Defect::ALL {
        assert_eq!(Defect::from_name(d.name()), Some(*d));
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 27);
}

#[test]
fn off_by_one_capacity_refuses_exactly_the_free_capacity() {
    let mut s = msvm_with(Defect::OffByOneCapacity);
    let prim = primordial(&mut s, MEM);
    let out = call(
        &mut s,
        create_pool_call("A", MEM, &[&prim], &[qty(MEM, 64)]),
    );
    assert_eq!(out, Outcome::Refused(INSUFFICIENT));
}

#[test]
fn accept_any_allocation_count_pairs_two_of_three() {
    let mut s = msvm_with(Defect::AcceptAnyAllocationCount);
    let ps = [
        mem_child(&mut s, "P1", 8),
        mem_child(&mut s, "P2", 8),
        mem_child(&mut s, "P3", 8),
    ];
    let out = call(
        &mut s,
        create_pool_call(
            "C",
            MEM,
            &[&ps[0], &ps[1], &ps[2]],
            &[qty(MEM, 2), qty(MEM, 3)],
        ),
    );
    let v = view(&mut s, &created(out));
    assert_eq!(v.capacity, 5);
}

#[test]
fn shared_always_supported_accepts_shared_ethernet() {
    let mut s = msvm_with(Defect::SharedAlwaysSupported);
    let prim = primordial(&mut s, ETH);
    let a = host_resource(ETH, 0);
    let p1 = created(call(
        &mut s,
        create_pool_call("P1", ETH, &[&prim], &[named(ETH, vec![a.clone()])]),
    ));
    let out = call(
        &mut s,
        create_pool_call("C", ETH, &[&prim, &p1], &[named(ETH, vec![a])]),
    );
    assert!(matches!(out, Outcome::Done(Some(_))), "{out:?}");
}

#[test]
fn shared_never_supported_refuses_shared_memory() {
    let mut s = msvm_with(Defect::SharedNeverSupported);
    let (p1, p2) = two_parents(&mut s);
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &p2], &[qty(MEM, 1)]),
    );
    assert_eq!(out, Outcome::Refused(NOT_SUPPORTED));
}

#[test]
fn ignore_parent_capacity_overcommits() {
    let mut s = msvm_with(Defect::IgnoreParentCapacity);
    let prim = primordial(&mut s, MEM);
    created(call(
        &mut s,
        create_pool_call("A", MEM, &[&prim], &[qty(MEM, 100)]),
    ));
    let p = view(&mut s, &prim);
    assert!(p.reserved > p.capacity);
}

#[test]
fn shared_exceeds_aggregate_takes_more_than_is_free() {
    let mut s = msvm_with(Defect::SharedExceedsAggregate);
    let (p1, p2) = two_parents(&mut s);
    mem_child_of(&mut s, &p2, 25);
    // Free: 20 + 5; capacity: 20 + 30.
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &p2], &[qty(MEM, 40)]),
    );
    created(out);
    let v2 = view(&mut s, &p2);
    assert!(v2.reserved > v2.capacity, "{v2:?}");
}

fn mem_child_of(s: &mut ReferenceService, parent: &ObjectPath, amount: u64) -> ObjectPath {
    created(call(
        s,
        create_pool_call(
            &format!("under-{amount}"),
            MEM,
            &[parent],
            &[qty(MEM, amount)],
        ),
    ))
}

#[test]
fn leak_on_failure_keeps_earlier_reservations() {
    let mut s = msvm_with(Defect::LeakOnFailure);
    let prim = primordial(&mut s, MEM);
    let p1 = mem_child(&mut s, "P1", 10);
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &prim], &[qty(MEM, 4), qty(MEM, 60)]),
    );
    assert_eq!(out, Outcome::Refused(INSUFFICIENT));
    assert_eq!(
        view(&mut s, &p1).reserved,
        4,
        "the first parent's part was never rolled back"
    );
}

#[test]
fn no_release_on_delete_keeps_parent_reserved() {
    let mut s = msvm_with(Defect::NoReleaseOnDelete);
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 10);
    assert_eq!(call(&mut s, delete_call(&a)), Outcome::Done(None));
    assert_eq!(view(&mut s, &prim).reserved, 10);
}

#[test]
fn delete_with_children_orphans_them() {
    let mut s = msvm_with(Defect::DeleteWithChildren);
    let a = mem_child(&mut s, "A", 10);
    let b = mem_child_of(&mut s, &a, 5);
    assert_eq!(call(&mut s, delete_call(&a)), Outcome::Done(None));
    let v = view(&mut s, &b);
    assert_eq!(v.allocations[0].parent, a);
    assert!(snap(&mut s).pool(&a).is_none());
}

#[test]
fn primordial_mutable_deletes_a_primordial_pool() {
    let mut s = msvm_with(Defect::PrimordialMutable);
    let prim = primordial(&mut s, PROC);
    assert_eq!(call(&mut s, delete_call(&prim)), Outcome::Done(None));
    assert_eq!(snap(&mut s).pools.len(), 4);
}

#[test]
fn duplicate_pool_ids_are_accepted() {
    let mut s = msvm_with(Defect::DuplicatePoolIds);
    let a = mem_child(&mut s, "Same", 1);
    let b = mem_child(&mut s, "Same", 1);
    assert_eq!(view(&mut s, &a).pool_id, view(&mut s, &b).pool_id);
}

#[test]
fn foreign_type_parent_is_accepted() {
    let mut s = msvm_with(Defect::ForeignTypeParent);
    let proc = primordial(&mut s, PROC);
    let out = call(&mut s, create_pool_call("X", MEM, &[&proc], &[qty(MEM, 2)]));
    created(out);
    assert_eq!(view(&mut s, &proc).reserved, 2);
}

#[rstest]
#[case::msvm(Dialect::Msvm, 32771)]
#[case::cim(Dialect::Cim, 2)]
fn failed_as_unknown(#[case] dialect: Dialect, #[case] code: u32) {
    let config = match dialect {
        Dialect::Msvm => ReferenceConfig::msvm_default(),
        Dialect::Cim => ReferenceConfig::cim_default(),
    };
    let mut s = service(
        config
            .with_job_methods(&[])
            .with_defect(Defect::FailedAsUnknown),
    );
    let prim = primordial(&mut s, MEM);
    let (method, name) = match dialect {
        Dialect::Msvm => (Method::DeletePool, "Pool"),
        Dialect::Cim => (Method::DeleteResourcePool, "Pool"),
    };
    let c = MethodCall::new(method).with(name, ParamValue::Reference(prim));
    assert_eq!(call(&mut s, c), Outcome::Refused(code));
}

#[rstest]
#[case::msvm(Dialect::Msvm, 32789)]
#[case::cim(Dialect::Cim, 9)]
fn code_outside_table_for_not_found(#[case] dialect: Dialect, #[case] code: u32) {
    let config = match dialect {
        Dialect::Msvm => ReferenceConfig::msvm_default(),
        Dialect::Cim => ReferenceConfig::cim_default(),
    };
    let mut s = service(
        config
            .with_job_methods(&[])
            .with_defect(Defect::CodeOutsideTable),
    );
    let method = match dialect {
        Dialect::Msvm => Method::DeletePool,
        Dialect::Cim => Method::DeleteResourcePool,
    };
    let c = MethodCall::new(method).with("Pool", ParamValue::Reference(ObjectPath::new("ghost")));
    assert_eq!(call(&mut s, c), Outcome::Refused(code));
}

#[test]
fn job_without_reference_does_the_work_at_once() {
    let mut s = service(ReferenceConfig::msvm_default().with_defect(Defect::JobWithoutReference));
    let prim = primordial(&mut s, MEM);
    let reply = s
        .invoke(&create_pool_call("A", MEM, &[&prim], &[qty(MEM, 8)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(r.return_value, JOB_STARTED);
    assert_eq!(r.out_reference("Job"), None);
    assert_eq!(view(&mut s, &prim).reserved, 8);
}

#[test]
fn job_succeeds_without_pool() {
    let mut s =
        service(ReferenceConfig::msvm_default().with_defect(Defect::JobSucceedsWithoutPool));
    let prim = primordial(&mut s, MEM);
    let out = call(&mut s, create_pool_call("A", MEM, &[&prim], &[qty(MEM, 8)]));
    assert_eq!(out, Outcome::Done(None));
    assert_eq!(snap(&mut s).pools.len(), 5);
}

#[test]
fn job_fails_but_leaves_pool() {
    let mut s = service(ReferenceConfig::msvm_default().with_defect(Defect::JobFailsButLeavesPool));
    let prim = primordial(&mut s, MEM);
    let out = call(
        &mut s,
        create_pool_call("A", MEM, &[&prim], &[qty(MEM, 80)]),
    );
    assert_eq!(out, Outcome::Refused(INSUFFICIENT));
    let pools = snap(&mut s).pools;
    assert_eq!(pools.len(), 6);
    assert!(pools.iter().any(|p| p.pool_id == "A"));
}

#[test]
fn permissive_accepts_a_missing_parameter() {
    let mut s = msvm_with(Defect::Permissive);
    let prim = primordial(&mut s, MEM);
    let c = MethodCall::new(Method::CreatePool)
        .with("PoolSettings", ParamValue::String(pool_settings("A", MEM)))
        .with("ParentPools", refs(&[&prim]));
    let out = call(&mut s, c);
    assert!(matches!(out, Outcome::Done(Some(_))), "{out:?}");
}

#[test]
fn ignore_host_resource_ownership_takes_what_the_parent_lacks() {
    let mut s = msvm_with(Defect::IgnoreHostResourceOwnership);
    let prim = primordial(&mut s, ETH);
    let a = host_resource(ETH, 0);
    let p1 = created(call(
        &mut s,
        create_pool_call("P1", ETH, &[&prim], &[named(ETH, vec![a])]),
    ));
    let c = host_resource(ETH, 2);
    let out = call(
        &mut s,
        create_pool_call("C", ETH, &[&p1], &[named(ETH, vec![c.clone()])]),
    );
    assert_eq!(view(&mut s, &created(out)).host_resources, vec![c]);
}

#[test]
fn mixed_sync_and_job_answers_every_second_success_synchronously() {
    let mut s = service(ReferenceConfig::msvm_default().with_defect(Defect::MixedSyncAndJob));
    let prim = primordial(&mut s, MEM);
    let codes: Vec<u32> = (0..4)
        .map(|i| {
            let reply = s
                .invoke(&create_pool_call(
                    &format!("P{i}"),
                    MEM,
                    &[&prim],
                    &[qty(MEM, 1)],
                ))
                .unwrap();
            let CallReply::Return(r) = &reply else {
                panic!("{reply:?}")
            };
            let code = r.return_value;
            settle(&mut s, reply);
            code
        })
        .collect();
    assert_eq!(codes, vec![JOB_STARTED, 0, JOB_STARTED, 0]);
}

#[test]
fn job_never_finishes() {
    let mut s = service(ReferenceConfig::msvm_default().with_defect(Defect::JobNeverFinishes));
    let prim = primordial(&mut s, MEM);
    let reply = s
        .invoke(&create_pool_call("A", MEM, &[&prim], &[qty(MEM, 1)]))
        .unwrap();
    let CallReply::Return(r) = reply else {
        panic!("{reply:?}")
    };
    let job = r.out_reference("Job").unwrap().clone();
    for _ in 0..64 {
        assert_eq!(s.poll_job(&job).unwrap().job_state, 4);
    }
}

#[test]
fn allow_cycles_makes_a_pool_its_own_ancestor() {
    let mut s = msvm_with(Defect::AllowCycles);
    let a = mem_child(&mut s, "A", 10);
    let b = mem_child_of(&mut s, &a, 5);
    let out = call(&mut s, modify_resources_call(&a, &[&b], &[qty(MEM, 5)]));
    assert_eq!(out, Outcome::Done(None));
    assert_eq!(view(&mut s, &a).allocations[0].parent, b);
}

#[test]
fn reserved_counts_grandchildren_double_counts() {
    let mut s = msvm_with(Defect::ReservedCountsGrandchildren);
    let prim = primordial(&mut s, MEM);
    let a = mem_child(&mut s, "A", 10);
    mem_child_of(&mut s, &a, 4);
    assert_eq!(view(&mut s, &prim).reserved, 14);
}

#[test]
fn first_allocation_only_ignores_the_other_parents() {
    let mut s = msvm_with(Defect::FirstAllocationOnly);
    let (p1, p2) = two_parents(&mut s);
    let out = call(
        &mut s,
        create_pool_call("C", MEM, &[&p1, &p2], &[qty(MEM, 3), qty(MEM, 4)]),
    );
    let v = view(&mut s, &created(out));
    assert_eq!(v.allocations.len(), 1);
    assert_eq!((v.allocations[0].parent.clone(), v.capacity), (p1, 3));
}

#[test]
fn ignore_parent_pools_allocates_from_the_primordial_pool() {
    let mut s = msvm_with(Defect::IgnoreParentPools);
    let prim = primordial(&mut s, MEM);
    let p1 = mem_child(&mut s, "P1", 10);
    let out = call(&mut s, create_pool_call("C", MEM, &[&p1], &[qty(MEM, 3)]));
    let v = view(&mut s, &created(out));
    assert_eq!(v.allocations[0].parent, prim);
    assert_eq!(view(&mut s, &p1).reserved, 0);
}

/// A fixed scenario covering every code path a defect touches; its trace is what a client
/// could observe.
fn scenario(config: ReferenceConfig) -> Vec<String> {
    let mut s = service(config);
    let mut trace = Vec::new();
    let mut record = |s: &mut ReferenceService, c: MethodCall| {
        let reply = s.invoke(&c).expect("answers");
        trace.push(format!("{reply:?}"));
        if let CallReply::Return(r) = &reply {
            if let Some(job) = r.out_reference("Job") {
                for _ in 0..3 {
                    trace.push(format!("{:?}", s.poll_job(job)));
                }
            }
        }
        trace.push(format!("{:?}", s.snapshot()));
        reply
    };
    let pool = |reply: &CallReply, s: &mut ReferenceService| -> Option<ObjectPath> {
        match reply {
            CallReply::Return(r) => r.out_reference("Pool").cloned().or_else(|| {
                let job = r.out_reference("Job")?;
                s.poll_job(job).ok()?.affected_elements.first().cloned()
            }),
            CallReply::CimError(_) => None,
        }
    };
    let prim = primordial(&mut s, MEM);
    let eth = primordial(&mut s, ETH);
    let proc = primordial(&mut s, PROC);
    let ghost = ObjectPath::new("ghost");
    let r = record(
        &mut s,
        create_pool_call("A", MEM, &[&prim], &[qty(MEM, 20)]),
    );
    let a = pool(&r, &mut s).unwrap_or_else(|| ghost.clone());
    let r = record(
        &mut s,
        create_pool_call("B", MEM, &[&prim], &[qty(MEM, 30)]),
    );
    let b = pool(&r, &mut s).unwrap_or_else(|| ghost.clone());
    let r = record(&mut s, create_pool_call("G", MEM, &[&a], &[qty(MEM, 5)]));
    let g = pool(&r, &mut s).unwrap_or_else(|| ghost.clone());
    record(&mut s, create_pool_call("A", MEM, &[&prim], &[qty(MEM, 1)]));
    record(
        &mut s,
        create_pool_call("S", MEM, &[&a, &b], &[qty(MEM, 40)]),
    );
    record(
        &mut s,
        create_pool_call("S2", MEM, &[&a, &b], &[qty(MEM, 10)]),
    );
    record(
        &mut s,
        create_pool_call("T", MEM, &[&a, &b, &prim], &[qty(MEM, 1), qty(MEM, 1)]),
    );
    record(
        &mut s,
        create_pool_call("U", MEM, &[&a, &b], &[qty(MEM, 1), qty(MEM, 1)]),
    );
    record(
        &mut s,
        create_pool_call("V", MEM, &[&b, &prim], &[qty(MEM, 1), qty(MEM, 60)]),
    );
    record(&mut s, create_pool_call("W", MEM, &[&proc], &[qty(MEM, 1)]));
    record(
        &mut s,
        create_pool_call("X", MEM, &[&prim], &[qty(MEM, 14)]),
    );
    record(
        &mut s,
        create_pool_call("Y", MEM, &[&prim], &[qty(MEM, 100)]),
    );
    record(
        &mut s,
        create_pool_call(
            "E",
            ETH,
            &[&eth, &eth],
            &[named(ETH, vec![host_resource(ETH, 0)])],
        ),
    );
    let r = record(
        &mut s,
        create_pool_call(
            "E1",
            ETH,
            &[&eth],
            &[named(ETH, vec![host_resource(ETH, 0)])],
        ),
    );
    let e1 = pool(&r, &mut s).unwrap_or_else(|| ghost.clone());
    record(
        &mut s,
        create_pool_call(
            "E2",
            ETH,
            &[&e1],
            &[named(ETH, vec![host_resource(ETH, 1)])],
        ),
    );
    record(
        &mut s,
        create_pool_call(
            "E3",
            ETH,
            &[&eth, &e1],
            &[named(ETH, vec![host_resource(ETH, 0)])],
        ),
    );
    record(&mut s, modify_resources_call(&a, &[&g], &[qty(MEM, 1)]));
    record(&mut s, delete_call(&ghost));
    record(&mut s, delete_call(&a));
    record(&mut s, delete_call(&g));
    record(&mut s, delete_call(&prim));
    record(&mut s, delete_call(&proc));
    record(
        &mut s,
        MethodCall::new(Method::DeletePool)
            .with("Pool", ParamValue::Reference(b.clone()))
            .with("Extra", ParamValue::Null),
    );
    trace
}

#[test]
fn every_defect_changes_what_a_client_observes() {
    let clean = scenario(ReferenceConfig::msvm_default());
    let invisible: Vec<&str> = Defect::ALL
        .iter()
        .filter(|d| scenario(ReferenceConfig::msvm_default().with_defect(**d)) == clean)
        .map(|d| d.name())
        .collect();
    assert!(
        invisible.is_empty(),
        "defects invisible in the scenario: {invisible:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Change tracking: `changes()` applied to the last full state gives the next full state, for
// the reference in both dialects and for every mutant of the zoo, over the harness's
// generated sequences

mod change_tracking {
    use super::*;
    use poolcheck::harness::{run_sequence, strategy, RuleStats};
    use poolcheck::model::Operation;
    use poolcheck::mutants::{reference_config, ZOO};
    use poolcheck::spec::Profile;
    use proptest::prelude::*;

    /// A reference service (conforming or a mutant) that checks its own `changes()` at every
    /// reset, call and job poll: the state it last reported, with the changes applied, must be
    /// its full state. The full state is read from a clone, so the service's change record is
    /// never disturbed; every third turn the check is skipped, so changes also accumulate over
    /// several calls and polls. Its own `changes()` is the default (not tracked): the harness
    /// driving it takes full snapshots, which start the service's record afresh as well.
    struct DeltaChecked {
        inner: ReferenceService,
        /// The pools as of the last `changes()` or `snapshot()` of `inner`, kept from those
        /// answers alone.
        mirror: Vec<PoolView>,
        calls: Vec<MethodCall>,
        turn: usize,
    }

    impl DeltaChecked {
        fn new(config: ReferenceConfig, profile: &Profile) -> DeltaChecked {
            let mut checked = DeltaChecked {
                inner: ReferenceService::new(config),
                mirror: Vec::new(),
                calls: Vec::new(),
                turn: 0,
            };
            checked.reset(&profile.fixture()).expect("resets");
            checked
        }

        fn name(&self) -> String {
            self.inner.describe().name
        }

        fn check(&mut self) {
            self.turn += 1;
            if self.turn % 3 == 2 {
                return;
            }
            let full = self.inner.clone().snapshot().expect("snapshot").pools;
            let delta = self
                .inner
                .changes()
                .expect("changes answers")
                .expect("the reference tracks changes");
            for removed in &delta.removed {
                assert!(
                    self.mirror.iter().any(|p| &p.path == removed),
                    "{}: reports {removed} removed, which it never reported",
                    self.name()
                );
            }
            apply(&mut self.mirror, delta);
            if let Some(difference) = first_difference(&self.mirror, &full) {
                panic!(
                    "{}, turn {}: the changes applied to the last state are not the state: {difference}",
                    self.name(),
                    self.turn
                );
            }
            assert_eq!(
                self.inner.changes().expect("changes answers"),
                Some(SnapshotDelta::default()),
                "{}: a second changes() reports changes again",
                self.name()
            );
        }
    }

    impl PoolService for DeltaChecked {
        fn describe(&self) -> ServiceDescription {
            self.inner.describe()
        }

        fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
            self.inner.reset(fixture)?;
            assert_eq!(
                self.inner.changes()?,
                Some(SnapshotDelta::default()),
                "{}: reset leaves changes to report",
                self.name()
            );
            self.mirror = self.inner.clone().snapshot()?.pools;
            self.calls.clear();
            self.turn = 0;
            Ok(())
        }

        fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
            let reply = self.inner.invoke(call);
            self.calls.push(call.clone());
            self.check();
            reply
        }

        fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
            let view = self.inner.poll_job(job);
            self.check();
            view
        }

        fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
            let snapshot = self.inner.snapshot()?;
            self.mirror = snapshot.pools.clone();
            Ok(snapshot)
        }
    }

    /// Removed pools go; changed pools replace their old view where it was, or come last (a
    /// new pool is newer than every pool reported before).
    fn apply(pools: &mut Vec<PoolView>, delta: SnapshotDelta) {
        pools.retain(|p| !delta.removed.contains(&p.path));
        for changed in delta.changed {
            match pools.iter_mut().find(|p| p.path == changed.path) {
                Some(pool) => *pool = changed,
                None => pools.push(changed),
            }
        }
    }

    fn first_difference(mirror: &[PoolView], full: &[PoolView]) -> Option<String> {
        if let Some((kept, real)) = mirror.iter().zip(full).find(|(a, b)| a != b) {
            return Some(format!("kept {kept:?}, real {real:?}"));
        }
        (mirror.len() != full.len()).then(|| {
            format!(
                "{} pools kept, {} real; kept paths {:?}, real paths {:?}",
                mirror.len(),
                full.len(),
                mirror.iter().map(|p| &p.path).collect::<Vec<_>>(),
                full.iter().map(|p| &p.path).collect::<Vec<_>>()
            )
        })
    }

    /// The calls recorded from one service, sent to another, each job polled to its end (or
    /// four times).
    fn replay(service: &mut DeltaChecked, calls: &[MethodCall]) {
        for call in calls {
            let Ok(CallReply::Return(reply)) = service.invoke(call) else {
                continue;
            };
            let Some(job) = reply.out_reference("Job").cloned() else {
                continue;
            };
            for _ in 0..4 {
                match service.poll_job(&job) {
                    Ok(view) if view.job_state < 7 => {}
                    _ => break,
                }
            }
        }
    }

    /// The sequence against the reference, then against every mutant: by the harness (which
    /// stops at a mutant's first failure) and by replaying the reference's own calls (which
    /// does not).
    fn check_sequence(profile_name: &str, ops: &[Operation]) {
        let profile = Profile::built_in(profile_name);
        let mut reference = DeltaChecked::new(reference_config(&profile), &profile);
        run_sequence(&mut reference, &profile, ops, &mut RuleStats::default()).expect("runs");
        let calls = reference.calls.clone();
        for mutant in ZOO {
            let config = reference_config(&profile).with_defect(mutant.defect);
            let mut driven = DeltaChecked::new(config.clone(), &profile);
            run_sequence(&mut driven, &profile, ops, &mut RuleStats::default()).expect("runs");
            let mut replayed = DeltaChecked::new(config, &profile);
            replay(&mut replayed, &calls);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn msvm_changes_applied_to_the_last_state_give_the_next(
            ops in strategy::sequence(&Profile::built_in("reference-msvm"), 24)
        ) {
            check_sequence("reference-msvm", &ops);
        }

        #[test]
        fn cim_changes_applied_to_the_last_state_give_the_next(
            ops in strategy::sequence(&Profile::built_in("reference-cim"), 24)
        ) {
            check_sequence("reference-cim", &ops);
        }
    }
}
