//! What a config's skills must be in CXone: the campaign's own skill and its
//! failover backup are both outbound Personal Connection skills, and the
//! backup (the skill a failover starts dialling on its own) is scrubbed by an
//! active, non-removed do-not-call group, as the schedule deployer requires
//! of the primary before it deploys a calling schedule.

use serde_json::json;
use tracing::warn;

use shared::api_error::ApiError;
use shared::cxone::{CxoneClient, CxoneError, Skill};
use shared::deadline::Deadline;

/// The config field that names the backup skill.
pub const BACKUP_FIELD: &str = "failover.backupSkillId";
/// The only outbound strategy the autopilot runs.
pub const PERSONAL_CONNECTION: &str = "Personal Connection";

/// A CXone failure as a 502: the cause in the log line (with the request
/// id), what failed in words in the answer.
pub fn cxone_error(what: &str, e: &CxoneError) -> ApiError {
    warn!(error = %e, "CXone call failed: {what}");
    ApiError::bad_gateway(format!(
        "CXone failed while {what}: {}",
        crate::api::cxone_failure_words(e)
    ))
}

fn is_personal_connection(skill: &Skill) -> bool {
    skill.is_outbound && skill.outbound_strategy.as_deref() == Some(PERSONAL_CONNECTION)
}

/// The campaign's own skill: exists (else 404) and is outbound Personal
/// Connection (else 422).
pub async fn check_primary(
    cxone: &CxoneClient,
    skill_id: i64,
    deadline: &Deadline,
) -> Result<(), ApiError> {
    let skill = match cxone.skill(skill_id, deadline).await {
        Ok(skill) => skill,
        Err(e) if e.is_not_found() => {
            return Err(ApiError::not_found(format!(
                "CXone has no skill {skill_id}"
            )))
        }
        Err(e) => return Err(cxone_error("reading the campaign's skill", &e)),
    };
    if !is_personal_connection(&skill) {
        return Err(ApiError::unprocessable(format!(
            "skill {skill_id} is not an outbound Personal Connection skill"
        ))
        .with_details(vec![json!({
            "field": "skillId",
            "skillId": skill_id,
            "isOutbound": skill.is_outbound,
            "outboundStrategy": skill.outbound_strategy,
        })]));
    }
    Ok(())
}

/// The failover backup: exists, is outbound Personal Connection and is
/// scrubbed by an active, non-removed DNC group; each refusal a 422 naming
/// [`BACKUP_FIELD`].
pub async fn check_backup(
    cxone: &CxoneClient,
    backup_id: i64,
    deadline: &Deadline,
) -> Result<(), ApiError> {
    let skill = match cxone.skill(backup_id, deadline).await {
        Ok(skill) => skill,
        Err(e) if e.is_not_found() => {
            return Err(ApiError::unprocessable(format!(
                "backup skill {backup_id} does not exist in CXone"
            ))
            .with_details(vec![json!({
                "field": BACKUP_FIELD,
                "problem": "no such skill",
                "rule": "exists",
                "skillId": backup_id,
            })]))
        }
        Err(e) => return Err(cxone_error("reading the backup skill", &e)),
    };
    if !is_personal_connection(&skill) {
        return Err(ApiError::unprocessable(format!(
            "{BACKUP_FIELD}: backup skill {backup_id} is not an outbound Personal Connection \
             skill (isOutbound {}, outboundStrategy {}); a failover would dial on it as a campaign",
            skill.is_outbound,
            skill.outbound_strategy.as_deref().unwrap_or("none"),
        ))
        .with_details(vec![json!({
            "field": BACKUP_FIELD,
            "rule": "personal-connection",
            "skillId": backup_id,
            "isOutbound": skill.is_outbound,
            "outboundStrategy": skill.outbound_strategy,
        })]));
    }
    let protected = cxone
        .is_dnc_protected(backup_id, deadline)
        .await
        .map_err(|e| cxone_error("reading DNC groups for the backup skill", &e))?;
    if !protected {
        return Err(ApiError::unprocessable(format!(
            "{BACKUP_FIELD}: backup skill {backup_id} is not protected by a do-not-call list: \
             no active, non-removed DNC group scrubs it; link one in CXone before naming it as \
             a backup"
        ))
        .with_details(vec![json!({
            "field": BACKUP_FIELD,
            "rule": "dnc-protection",
            "skillId": backup_id,
        })]));
    }
    Ok(())
}
