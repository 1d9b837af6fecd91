//! Calling lists and their upload jobs.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SimState;

/// A calling list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallList {
    /// List id.
    pub list_id: i64,
    /// Name.
    pub list_name: String,
    /// Rows uploaded so far.
    pub rows: u64,
    /// The data rows (CSV lines without the header) of every completed upload, in order.
    pub uploaded_rows: Vec<String>,
}

/// An upload job.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadJob {
    /// Job id.
    pub job_id: String,
    /// List id.
    pub list_id: i64,
    /// Skill the list was uploaded for.
    pub skill_id: i64,
    /// Simulated completion time.
    pub completed: DateTime<Utc>,
    /// Whether the job ended cancelled (an `uploadJobFails` fault).
    pub failed: bool,
}

impl SimState {
    /// Creates a calling list.
    pub fn create_list(&mut self, name: &str) -> i64 {
        let id = self.next_list_id;
        self.next_list_id += 1;
        self.lists.insert(
            id,
            CallList {
                list_id: id,
                list_name: name.to_string(),
                rows: 0,
                uploaded_rows: Vec::new(),
            },
        );
        id
    }

    /// Records an upload job (complete immediately in simulated time, or
    /// cancelled when `failed`: then no row is added to the list).
    pub fn upload(
        &mut self,
        list_id: i64,
        skill_id: i64,
        rows: Vec<String>,
        failed: bool,
    ) -> Option<String> {
        let list = self.lists.get_mut(&list_id)?;
        if !failed {
            list.rows += rows.len() as u64;
            list.uploaded_rows.extend(rows);
        }
        let job_id = format!("job-{}-{}", list_id, self.jobs.len() + 1);
        self.jobs.insert(
            job_id.clone(),
            UploadJob {
                job_id: job_id.clone(),
                list_id,
                skill_id,
                completed: self.now,
                failed,
            },
        );
        Some(job_id)
    }
}
