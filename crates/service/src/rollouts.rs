//! Staged rollouts (see `depot_core::rollout`): starting, pausing, resuming and ending one, the
//! feed a site sees while one runs, and ending those whose schedule is over.
//!
//! One rollout at a time per extension: starting one ends any other (that release goes to
//! everyone). While it runs, Joomla sites in its share (by a hash of their address and the
//! extension: Joomla sends no site id) see the release in the extension's feed and the others
//! see the feed without it; `collection.xml` lists the previous release until the rollout is
//! over, so that a collection site is never offered what its extension feed then withholds. A
//! finished schedule is ended within a minute, and the release is everyone's.

use std::sync::Arc;
use std::time::Duration;

use depot_core::ReleaseState;
use depot_core::rollout::{RolloutSchedule, cohort, offered};
use serde_json::json;

use crate::{Actor, Depot, RenderedFeed, ServiceError, ServiceResult};

/// How often finished rollouts are looked for.
const COMPLETION_TICK: Duration = Duration::from_secs(60);

/// A release's rollout as it runs: its schedule, when it started, whether it is paused.
#[derive(Clone, Debug)]
pub struct RunningRollout {
    pub schedule: RolloutSchedule,
    pub started_at: i64,
    pub paused_at: Option<i64>,
}

impl RunningRollout {
    /// The rollout of a release, if it has one (a schedule that no longer parses counts as
    /// none: the release goes to everyone).
    pub(crate) fn of(release: &depot_store::ReleaseRow) -> Option<Self> {
        Some(RunningRollout {
            schedule: release.rollout.as_deref()?.parse().ok()?,
            started_at: release.rollout_started_at.or(release.published_at)?,
            paused_at: release.rollout_paused_at,
        })
    }

    pub(crate) fn percent_at(&self, now: i64) -> u8 {
        self.schedule
            .percent_now(self.started_at, self.paused_at, now)
    }

    /// Whether a client with this cohort is offered the release at `now`.
    pub(crate) fn offers(&self, cohort: u8, now: i64) -> bool {
        offered(cohort, self.percent_at(now))
    }
}

/// Whether a version with `rollout` is offered to a client of `cohort` at `now` (always, when
/// it is not being rolled out).
pub(crate) fn offered_to(rollout: Option<&RunningRollout>, cohort: u8, now: i64) -> bool {
    rollout.is_none_or(|r| r.offers(cohort, now))
}

/// A change to a release's rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutChange {
    /// Start (or restart) with this schedule, from now.
    Start(String),
    /// Offer the release to every site at once.
    End,
    Pause,
    Resume,
}

impl Depot {
    /// The feed a site sees: the feed itself, or while a release is rolled out and the site is
    /// outside its share, the feed without it. `site` identifies the site (its address), and
    /// `product` the extension, so that a site's cohort differs between extensions; it is
    /// asked only during a rollout (most feeds are the same for every site).
    /// `None` when the site is outside the share and nothing else is there for it.
    pub fn feed_for_site<S: AsRef<str>>(
        &self,
        feed: &Arc<RenderedFeed>,
        site: impl FnOnce() -> S,
        product: &str,
    ) -> Option<Arc<RenderedFeed>> {
        let Some(rollout) = &feed.rollout else {
            return Some(feed.clone());
        };
        if rollout
            .running
            .offers(cohort(site().as_ref(), product), self.now_ms())
        {
            Some(feed.clone())
        } else {
            rollout.held_back.clone()
        }
    }

    pub(crate) async fn change_rollout(
        &self,
        actor: &Actor,
        extension_id: i64,
        release: &depot_store::ReleaseRow,
        subject: &str,
        change: RolloutChange,
    ) -> ServiceResult<()> {
        if release.state != ReleaseState::Published {
            return Err(ServiceError::Conflict(format!(
                "{subject} is {}: only a published release is rolled out",
                release.state
            )));
        }
        let running = release.rollout.is_some();
        let detail = match &change {
            RolloutChange::Start(schedule) => {
                let schedule: RolloutSchedule =
                    schedule
                        .parse()
                        .map_err(|e: depot_core::rollout::BadSchedule| {
                            ServiceError::invalid("bad_rollout", e.to_string())
                        })?;
                self.store()
                    .end_other_rollouts(extension_id, release.id)
                    .await?;
                let schedule = schedule.to_string();
                self.store()
                    .set_rollout(release.id, Some(&schedule), self.now_ms())
                    .await?;
                json!({"rollout": schedule})
            }
            RolloutChange::End => {
                self.store().set_rollout(release.id, None, 0).await?;
                json!({"rollout": null})
            }
            RolloutChange::Pause | RolloutChange::Resume if !running => {
                return Err(ServiceError::Conflict(format!(
                    "{subject} is not being rolled out"
                )));
            }
            RolloutChange::Pause => {
                self.store()
                    .set_rollout_paused(release.id, Some(self.now_ms()))
                    .await?;
                json!({"paused": true})
            }
            RolloutChange::Resume => {
                self.store().set_rollout_paused(release.id, None).await?;
                json!({"paused": false})
            }
        };
        self.invalidate_catalogue();
        self.audit(actor, "release.rollout", subject, detail).await
    }

    /// Ends the rollouts whose schedule is over: their release is everyone's.
    pub async fn complete_rollouts(&self) -> ServiceResult<usize> {
        let now = self.now_ms();
        let mut ended = 0;
        for r in self.store().all_rollouts().await? {
            let Ok(schedule) = r.rollout.parse::<RolloutSchedule>() else {
                continue;
            };
            if r.rollout_paused_at.is_none()
                && r.rollout_started_at + schedule.full_after_ms() <= now
            {
                self.store().set_rollout(r.release_id, None, 0).await?;
                ended += 1;
            }
        }
        if ended > 0 {
            self.invalidate_catalogue();
        }
        Ok(ended)
    }
}

pub(crate) async fn completion_loop(depot: Depot) {
    let mut tick = tokio::time::interval(COMPLETION_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = depot.complete_rollouts().await {
            tracing::warn!(error = %e, "could not end finished rollouts; trying again in a minute");
        }
    }
}
