//! Builders for hand-written operation sequences (the host of the reference profiles has the
//! resource types, in order: 0 Memory (64), 1 Processor (48), 2 Ethernet (3 switches),
//! 3 VHD (2 folders), 4 virtual SAN (2 FC switches, MaxParentPools 1)).
#![allow(dead_code)]

use poolcheck::model::operation::*;
use poolcheck::model::Operation;

pub const MEMORY: u8 = 0;
pub const ETHERNET: u8 = 2;
pub const VHD: u8 = 3;
pub const SAN: u8 = 4;

pub fn live(n: u16) -> PoolSel {
    PoolSel::Live(n)
}

/// A quantity allocation.
pub fn q(amount: Amount) -> AllocSel {
    AllocSel {
        amount,
        limit: LimitSel::Null,
        resources: ResSel::Subset(0),
        foreign_type: false,
    }
}

pub fn qty(n: u64) -> AllocSel {
    q(Amount::Absolute(n))
}

/// A named allocation of the parent's host resources whose bits are set.
pub fn res(mask: u8) -> AllocSel {
    AllocSel {
        amount: Amount::Quarters(0),
        limit: LimitSel::Null,
        resources: ResSel::Subset(mask),
        foreign_type: false,
    }
}

pub fn create(resource: u8, id: u8, parents: &[PoolSel], allocations: &[AllocSel]) -> Operation {
    create_with(resource, id, parents, allocations, Fault::None)
}

pub fn create_with(
    resource: u8,
    id: u8,
    parents: &[PoolSel],
    allocations: &[AllocSel],
    fault: Fault,
) -> Operation {
    Operation::Create(CreateOp {
        resource: TypeSel(resource),
        pool_id: IdSel::Named(id),
        element_name: Some(id),
        parents: parents.to_vec(),
        allocations: allocations.to_vec(),
        encoding: EncodingSel::CimXml,
        fault,
    })
}

pub fn change_parents(child: PoolSel, parents: &[PoolSel], allocations: &[AllocSel]) -> Operation {
    Operation::ChangeParents(ChangeParentsOp {
        child,
        parents: parents.to_vec(),
        allocations: allocations.to_vec(),
        encoding: EncodingSel::CimXml,
        fault: Fault::None,
    })
}

pub fn rename(child: PoolSel, id: u8, foreign_type: bool) -> Operation {
    Operation::ChangeSettings(ChangeSettingsOp {
        child,
        pool_id: IdSel::Named(id),
        element_name: Some(id),
        foreign_type,
        encoding: EncodingSel::Mof,
        fault: Fault::None,
    })
}

pub fn delete(pool: PoolSel) -> Operation {
    Operation::Delete(DeleteOp {
        pool,
        fault: Fault::None,
    })
}

pub fn create_root(resource: u8, devices: &[DeviceSel]) -> Operation {
    Operation::CreateRoot(CreateRootOp {
        resource: TypeSel(resource),
        element_name: Some(1),
        devices: devices.to_vec(),
        fault: Fault::None,
    })
}

pub fn remove_resources(pool: PoolSel, devices: &[DeviceSel]) -> Operation {
    Operation::RemoveResources(HostResourcesOp {
        pool,
        devices: devices.to_vec(),
        fault: Fault::None,
    })
}

pub fn add_resources(pool: PoolSel, devices: &[DeviceSel]) -> Operation {
    Operation::AddResources(HostResourcesOp {
        pool,
        devices: devices.to_vec(),
        fault: Fault::None,
    })
}
