//! The session state machine: `created` → `started` ⇄ `paused` → `ended`, or `created` →
//! `cancelled`.

use domain::session::SessionStatus;

/// What can happen to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happening {
    /// The charger reported StartTransaction with the session's idTag.
    ChargerStarted,
    /// The charger rejected the remote start, or did not start in time.
    StartFailed,
    /// The charger accepted a pause (a charging profile with limit 0).
    PauseAccepted,
    /// The charger accepted the pause's removal.
    ResumeAccepted,
    /// The charger reported StopTransaction.
    ChargerStopped,
    /// The operator or Joule gave up on the charger (soft end, or the charger silent for too
    /// long): a running session ends from what is stored, one that never started is cancelled.
    EndedWithoutCharger,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} session cannot take {happening:?}")]
pub struct Refused {
    pub from: SessionStatus,
    pub happening: Happening,
}

/// The status after `happening`, or why it cannot happen now.
pub fn next(from: SessionStatus, happening: Happening) -> Result<SessionStatus, Refused> {
    use Happening::*;
    use SessionStatus::*;
    match (from, happening) {
        (Created, ChargerStarted) => Ok(Started),
        (Created, StartFailed) => Ok(Cancelled),
        (Started, PauseAccepted) => Ok(Paused),
        (Paused, ResumeAccepted) => Ok(Started),
        // A charger may report a stop while Joule still waits for its start (both queued offline).
        (Created | Started | Paused, ChargerStopped) => Ok(Ended),
        (Created, EndedWithoutCharger) => Ok(Cancelled),
        (Started | Paused, EndedWithoutCharger) => Ok(Ended),
        _ => Err(Refused { from, happening }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Happening::*;
    use SessionStatus::*;

    #[test]
    fn the_lifecycle_as_a_table() {
        let all_happenings = [ChargerStarted, StartFailed, PauseAccepted, ResumeAccepted, ChargerStopped, EndedWithoutCharger];
        let allowed = [
            (Created, ChargerStarted, Started),
            (Created, StartFailed, Cancelled),
            (Created, ChargerStopped, Ended),
            (Started, PauseAccepted, Paused),
            (Started, ChargerStopped, Ended),
            (Paused, ResumeAccepted, Started),
            (Paused, ChargerStopped, Ended),
            (Created, EndedWithoutCharger, Cancelled),
            (Started, EndedWithoutCharger, Ended),
            (Paused, EndedWithoutCharger, Ended),
        ];
        for from in [Created, Started, Paused, Ended, Cancelled] {
            for h in all_happenings {
                let expected = allowed.iter().find(|(f, x, _)| *f == from && *x == h).map(|(_, _, to)| *to);
                assert_eq!(next(from, h).ok(), expected, "{from:?} + {h:?}");
            }
        }
    }

    #[test]
    fn ended_and_cancelled_are_final() {
        for h in [ChargerStarted, StartFailed, PauseAccepted, ResumeAccepted, ChargerStopped, EndedWithoutCharger] {
            assert!(next(Ended, h).is_err());
            assert!(next(Cancelled, h).is_err());
        }
    }
}
