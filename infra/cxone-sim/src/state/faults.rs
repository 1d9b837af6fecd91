//! Injected faults: which request or operation each one hits, how many
//! hits remain, and the `personEdit` and `webhookDuplicate` faults that act
//! on the state itself.

use super::SimState;
use crate::model::{Fault, FaultKind};
use crate::webhook::{Batch, WebhookConfig};

/// A fault in force and what is left of it.
pub(super) struct ActiveFault {
    fault: Fault,
    remaining: u32,
    reads: u32,
}

impl SimState {
    /// Replaces the fault list.
    pub fn set_faults(&mut self, faults: Vec<Fault>) {
        self.faults = faults
            .into_iter()
            .map(|f| ActiveFault {
                remaining: f.count.unwrap_or(1),
                fault: f,
                reads: 0,
            })
            .filter(|f| f.remaining > 0)
            .collect();
    }

    /// Takes one hit of the first request-level fault matching `path`.
    pub fn take_request_fault(&mut self, path: &str, method: &str) -> Option<FaultKind> {
        let pos = self
            .faults
            .iter()
            .position(|f| hits_request(&f.fault, path, method))?;
        Some(self.consume(pos))
    }

    /// Takes one hit of an `itemErrors` fault matching `path`.
    pub fn take_item_error(&mut self, path: &str) -> bool {
        self.take_operation_fault(path, |k| matches!(k, FaultKind::ItemErrors))
    }

    /// Takes one hit of an `uploadJobFails` fault matching `path`.
    pub fn take_job_failure(&mut self, path: &str) -> bool {
        self.take_operation_fault(path, |k| matches!(k, FaultKind::UploadJobFails))
    }

    /// Takes one hit of the first fault of a kind `is_kind` accepts whose
    /// `pathContains` (if any) is in `path`; whether there was one.
    fn take_operation_fault(&mut self, path: &str, is_kind: impl Fn(&FaultKind) -> bool) -> bool {
        let pos = self.faults.iter().position(|f| {
            is_kind(&f.fault.kind)
                && f.fault
                    .path_contains
                    .as_ref()
                    .is_none_or(|p| path.contains(p.as_str()))
        });
        match pos {
            Some(p) => {
                self.consume(p);
                true
            }
            None => false,
        }
    }

    /// Takes one hit of the fault at `pos`, removing it when none remain.
    fn consume(&mut self, pos: usize) -> FaultKind {
        let kind = self.faults[pos].fault.kind.clone();
        self.faults[pos].remaining = self.faults[pos].remaining.saturating_sub(1);
        if self.faults[pos].remaining == 0 {
            self.faults.remove(pos);
        }
        kind
    }

    /// Called after a GET of a skill's general settings was answered: counts
    /// the read for `personEdit` faults and applies any that are due.
    pub fn after_general_read(&mut self, skill_id: i64) {
        let mut i = 0;
        while i < self.faults.len() {
            let due = match &mut self.faults[i] {
                ActiveFault {
                    fault:
                        Fault {
                            kind:
                                FaultKind::PersonEdit {
                                    skill_id: s,
                                    after_reads,
                                    ..
                                },
                            ..
                        },
                    reads,
                    ..
                } if *s == skill_id => {
                    *reads += 1;
                    *reads >= *after_reads
                }
                _ => false,
            };
            if due {
                if let FaultKind::PersonEdit { fields, .. } = self.faults[i].fault.kind.clone() {
                    if let Some(rt) = self.skills.get_mut(&skill_id) {
                        for (k, v) in fields {
                            rt.general.insert(k, v);
                        }
                    }
                }
                self.faults[i].reads = 0;
                self.faults[i].remaining = self.faults[i].remaining.saturating_sub(1);
                if self.faults[i].remaining == 0 {
                    self.faults.remove(i);
                    continue;
                }
            }
            i += 1;
        }
    }

    /// Takes the webhook batches due now (every queued event when `flush`),
    /// marking as many as the `webhookDuplicate` faults ask for to be posted
    /// twice. `None` when no webhook is enabled.
    pub fn take_webhook_batches(&mut self, flush: bool) -> Option<(WebhookConfig, Vec<Batch>)> {
        let (cfg, mut batches) = self.webhook.take_due(self.now, flush)?;
        for b in &mut batches {
            let pos = self
                .faults
                .iter()
                .position(|f| matches!(f.fault.kind, FaultKind::WebhookDuplicate));
            match pos {
                Some(p) => {
                    self.consume(p);
                    b.repost = true;
                }
                None => break,
            }
        }
        Some((cfg, batches))
    }
}

/// Whether a request-level fault hits `method path`: by default a token
/// error hits the token endpoint and the others the CXone API; with a
/// `pathContains` the others hit any path containing it (a token error
/// still only the token endpoint); a `method` must match too.
/// Operation-level kinds never hit a request.
fn hits_request(fault: &Fault, path: &str, method: &str) -> bool {
    if fault
        .method
        .as_ref()
        .is_some_and(|m| !m.eq_ignore_ascii_case(method))
    {
        return false;
    }
    let default_match = match fault.kind {
        FaultKind::TokenError => path == "/auth/token",
        FaultKind::RateLimit { .. }
        | FaultKind::ServerError { .. }
        | FaultKind::Slow { .. }
        | FaultKind::AnswerLost { .. }
        | FaultKind::Unauthorized => path.starts_with("/inContactAPI/"),
        FaultKind::ItemErrors
        | FaultKind::PersonEdit { .. }
        | FaultKind::WebhookDuplicate
        | FaultKind::UploadJobFails => return false,
    };
    match &fault.path_contains {
        Some(p) => {
            path.contains(p.as_str())
                && (default_match || !matches!(fault.kind, FaultKind::TokenError))
        }
        None => default_match,
    }
}
