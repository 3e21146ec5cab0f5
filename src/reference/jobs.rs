//! `CIM_ConcreteJob`s of the methods the config runs asynchronously.
//!
//! A job method does its parameter-level checks before it answers (a refusal is a return
//! value, no job). If they pass it answers 4096 with the `Job` reference, and the job's life
//! is driven by polls: the first poll reads Running (4); the second does the state-dependent
//! checks and the work, and reads Completed (7, ErrorCode 0, the new pool as affected element
//! for creates) or Exception (10, ErrorCode = the refusal's return code, a message, no change
//! of state). Every later poll reads the same terminal view.

use crate::sut::{Dialect, JobView, Method, ObjectPath, ServiceError};

use super::codes::Refusal;
use super::ops::{Effect, Op};
use super::{Defect, ReferenceService};

/// JobState Running.
const RUNNING: u16 = 4;
/// JobState Completed.
const COMPLETED: u16 = 7;
/// JobState Exception.
const EXCEPTION: u16 = 10;

/// One job.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    method: Method,
    op: Op,
    polls: u32,
    terminal: Option<JobView>,
}

impl Job {
    pub fn new(method: Method, op: Op) -> Job {
        Job {
            method,
            op,
            polls: 0,
            terminal: None,
        }
    }
}

/// `JobType` of a method's job (JOB-006): 150..153 for Msvm, unset (0) for CIM.
fn job_type(method: Method) -> u16 {
    match method {
        Method::CreatePool => 150,
        Method::ModifyPoolResources => 151,
        Method::ModifyPoolSettings => 152,
        Method::DeletePool => 153,
        _ => 0,
    }
}

impl ReferenceService {
    pub(crate) fn poll(&mut self, path: &ObjectPath) -> Result<JobView, ServiceError> {
        let never = self.has(Defect::JobNeverFinishes);
        let (method, op, polls) = {
            let Some(job) = self.jobs.get_mut(path) else {
                return Err(ServiceError::Protocol(format!(
                    "no job {} on this host",
                    super::ops::short(path)
                )));
            };
            if let Some(view) = &job.terminal {
                return Ok(view.clone());
            }
            job.polls = job.polls.saturating_add(1);
            (job.method, job.op.clone(), job.polls)
        };
        if never || polls < 2 {
            return Ok(JobView {
                job_state: RUNNING,
                error_code: 0,
                error_description: String::new(),
                job_type: job_type(method),
                affected_elements: Vec::new(),
            });
        }
        let view = match self.run_job(&op) {
            Ok(pool) => JobView {
                job_state: COMPLETED,
                error_code: 0,
                error_description: String::new(),
                job_type: job_type(method),
                affected_elements: pool.into_iter().collect(),
            },
            Err(refusal) => JobView {
                job_state: EXCEPTION,
                error_code: u16::try_from(self.code(method, refusal.reason)).unwrap_or(u16::MAX),
                error_description: format!("{method} failed: {}", refusal.message),
                job_type: job_type(method),
                affected_elements: Vec::new(),
            },
        };
        if let Some(job) = self.jobs.get_mut(path) {
            job.terminal = Some(view.clone());
        }
        Ok(view)
    }

    /// The job's work: the checks again (the state may have changed), the state-dependent
    /// checks, the effect.
    fn run_job(&mut self, op: &Op) -> Result<Option<ObjectPath>, Refusal> {
        let effect = self.check(op).and_then(|()| self.plan(op));
        match effect {
            Ok(Effect::Create(_)) if self.has(Defect::JobSucceedsWithoutPool) => {
                Ok(self.apply(Effect::Nothing))
            }
            Ok(effect) => Ok(self.apply(effect)),
            Err(refusal) => {
                self.commit_leaks(&refusal);
                if self.has(Defect::JobFailsButLeavesPool) {
                    self.leave_pool_behind(op);
                }
                Err(refusal)
            }
        }
    }

    /// `JobFailsButLeavesPool`: the pool was inserted before the allocation failed, and the
    /// failure path forgets to remove it. It keeps its parents, with nothing held from them.
    fn leave_pool_behind(&mut self, op: &Op) {
        let Op::Create(req) = op else {
            return;
        };
        let (Some(resource_type), Some(subtype)) =
            (req.resource_type, req.resource_subtype.clone())
        else {
            return;
        };
        let kind = self.store.kind_of(resource_type, &subtype);
        let holdings = req
            .parents
            .iter()
            .filter(|p| self.store.get(p).is_some())
            .map(|p| super::store::Holding {
                parent: p.clone(),
                quantity: 0,
                host_resources: Vec::new(),
            })
            .collect();
        let pool_id = match self.config.dialect {
            Dialect::Msvm => Some(req.pool_id.clone().unwrap_or_default()),
            Dialect::Cim => None,
        };
        self.insert_pool(super::ops::NewPool {
            pool_id,
            element_name: req.element_name.clone(),
            resource_type,
            resource_subtype: subtype,
            kind,
            origin: super::store::Origin::Child,
            holdings,
            base_host_resources: Vec::new(),
        });
    }
}
