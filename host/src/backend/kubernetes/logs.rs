//! The log of a job's newest pod: followed while it runs, streamed line by line to a
//! callback, kept bounded (the tail survives), and resumed from the last timestamp when
//! the stream stalls or drops.

use std::time::Duration;

use futures::{AsyncBufReadExt as _, StreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use tokio::sync::watch;

use super::outcome::{newest_pod, script_log_available, script_terminated};
use super::watch::{NamespaceWatch, Subscription};
use crate::backend::conventions::SCRIPT_CONTAINER;
use crate::tail::{BoundedTail, Cut};

/// The last `cap` bytes of a log; the kept text starts at a line start.
#[derive(Debug)]
pub struct LogTail(BoundedTail);

impl LogTail {
    pub fn new(cap: usize) -> Self {
        Self(BoundedTail::new(cap))
    }

    pub fn push_line(&mut self, line: &str) {
        self.0.push(line.as_bytes());
        self.0.push(b"\n");
    }

    /// Starts over for a newer pod: the outcome describes the newest pod only.
    pub fn reset(&mut self) {
        self.0.clear();
    }

    /// The kept text and whether anything was dropped.
    pub fn finish(self) -> (String, bool) {
        let kept = self.0.kept(Cut::LineStart);
        (kept.text, kept.dropped > 0)
    }
}

/// Where a resumed stream continues. `sinceTime` has second precision, so a reopened
/// stream repeats lines already delivered: those before the last timestamp seen are
/// dropped, and at that timestamp exactly as many as were already delivered.
#[derive(Debug, Default, Clone)]
struct ResumePoint {
    last: Option<Timestamp>,
    delivered_at_last: usize,
    to_skip_at_last: usize,
}

impl ResumePoint {
    /// Called when a stream (re)opens.
    fn begin_stream(&mut self) {
        self.to_skip_at_last = self.delivered_at_last;
    }

    /// Splits a `timestamps=true` log line; returns its text if it was not delivered yet.
    /// The kubelet stamps every line the container wrote, so a line without a timestamp
    /// is the server's own (kwok, for one, reports its errors in the stream): it is logged
    /// and kept out of the output, where it would end up after the result line.
    fn accept<'a>(&mut self, line: &'a str) -> Option<&'a str> {
        let (stamp, text) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(ts) = stamp.parse::<Timestamp>() else {
            tracing::warn!(line, "the log stream carried a line that is not container output; left out");
            return None;
        };
        match self.last {
            Some(last) if ts < last => None,
            Some(last) if ts == last => {
                if self.to_skip_at_last > 0 {
                    self.to_skip_at_last -= 1;
                    return None;
                }
                self.delivered_at_last += 1;
                Some(text)
            }
            _ => {
                self.last = Some(ts);
                self.delivered_at_last = 1;
                self.to_skip_at_last = 0;
                Some(text)
            }
        }
    }
}

/// Follows the log of the newest pod of one Job until `stop` says the job ended and the
/// stream has been read to its end.
pub struct LogFollower<'a> {
    pub pods: Api<Pod>,
    pub namespace: &'a NamespaceWatch,
    pub job_uid: String,
    pub on_log: &'a (dyn Fn(&str) + Send + Sync),
    /// A stream silent this long is reopened from the last timestamp.
    pub stall_timeout: Duration,
}

impl LogFollower<'_> {
    pub async fn follow(
        &self,
        tail: &mut LogTail,
        mut changes: Subscription,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut current: Option<String> = None;
        let mut resume = ResumePoint::default();
        let mut finished_pod = false;
        loop {
            let newest = self.newest_ready_pod();
            if let Some(name) = newest.filter(|name| current.as_ref() != Some(name)) {
                if current.is_some() {
                    tail.reset();
                }
                current = Some(name);
                resume = ResumePoint::default();
                finished_pod = false;
            }
            if let Some(pod) = current.clone().filter(|_| !finished_pod) {
                let ended_cleanly = self
                    .stream(&pod, &mut resume, tail, &mut changes, &mut stop)
                    .await;
                let terminated = self.pod_terminated(&pod);
                if ended_cleanly && terminated {
                    finished_pod = true;
                } else if !terminated {
                    // Dropped or stalled while running: go round and resume from `resume`.
                    tokio::select! {
                        _ = changes.changed() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                } else {
                    // The container ended but the read failed: one more pass, then settle.
                    self.stream(&pod, &mut resume, tail, &mut changes, &mut stop)
                        .await;
                    finished_pod = true;
                }
            }
            if *stop.borrow() && (finished_pod || current.is_none()) {
                return;
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// The newest pod, once its main container has a log to read.
    fn newest_ready_pod(&self) -> Option<String> {
        let pods = self.namespace.pods_of(&self.job_uid);
        let newest = newest_pod(pods.iter().map(|p| p.as_ref()))?;
        script_log_available(newest).then(|| newest.metadata.name.clone().unwrap_or_default())
    }

    fn pod_terminated(&self, name: &str) -> bool {
        self.namespace
            .pods_of(&self.job_uid)
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .is_none_or(|p| script_terminated(p))
    }

    /// Reads one stream to its end; false when it failed or stalled. While the container
    /// runs the stream follows the log; once it (or the job) ended, the rest is read
    /// without follow.
    async fn stream(
        &self,
        pod: &str,
        resume: &mut ResumePoint,
        tail: &mut LogTail,
        changes: &mut Subscription,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        loop {
            let follow = !*stop.borrow() && !self.pod_terminated(pod);
            let params = LogParams {
                container: Some(SCRIPT_CONTAINER.to_string()),
                follow,
                timestamps: true,
                since_time: resume.last,
                ..LogParams::default()
            };
            resume.begin_stream();
            let reader = match self.pods.log_stream(pod, &params).await {
                Ok(reader) => reader,
                Err(err) => {
                    tracing::debug!(pod, error = %err, "could not open the log stream");
                    return false;
                }
            };
            let mut lines = std::pin::pin!(reader.lines());
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout(self.stall_timeout, lines.next()) => next,
                    // The container or the job ended. A kubelet closes a follow stream once
                    // the container exits, but not necessarily at once (kwok never does):
                    // rather than hold the connection until it goes quiet, read the rest
                    // without follow from the last timestamp seen, which ends as soon as
                    // the log has been sent. The Job controller may mark the Job complete
                    // long after its pod ended, so this frees the stream at the pod's end.
                    _ = stop.changed(), if follow => break,
                    _ = changes.changed(), if follow => {
                        if self.pod_terminated(pod) {
                            break;
                        }
                        continue;
                    }
                };
                match next {
                    Ok(Some(Ok(line))) => {
                        if let Some(text) = resume.accept(&line) {
                            (self.on_log)(text);
                            tail.push_line(text);
                        }
                    }
                    Ok(None) => return true,
                    Ok(Some(Err(err))) => {
                        tracing::debug!(pod, error = %err, "log stream broke; resuming");
                        return false;
                    }
                    Err(_) => {
                        tracing::debug!(
                            pod,
                            "log stream silent for {:?}; reopening",
                            self.stall_timeout
                        );
                        return false;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_and_flags_truncation() {
        let mut tail = LogTail::new(20);
        for i in 0..100 {
            tail.push_line(&format!("line {i}"));
        }
        let (text, truncated) = tail.finish();
        assert!(truncated);
        assert!(text.len() <= 20, "{text:?}");
        assert!(
            text.ends_with("line 99\n") && text.starts_with("line "),
            "{text:?}"
        );
    }

    #[test]
    fn short_logs_are_kept_whole() {
        let mut tail = LogTail::new(1024);
        tail.push_line("{\"result\": 1}");
        assert_eq!(tail.finish(), ("{\"result\": 1}\n".to_string(), false));
    }

    #[test]
    fn multibyte_text_is_cut_on_a_char_boundary() {
        let mut tail = LogTail::new(5);
        tail.push_line(&"é".repeat(4000));
        let (text, truncated) = tail.finish();
        assert!(truncated && text.len() <= 5);
    }

    #[test]
    fn resumed_stream_skips_lines_already_delivered() {
        let mut resume = ResumePoint::default();
        resume.begin_stream();
        let first = [
            "2026-01-01T00:00:01.100000000Z a",
            "2026-01-01T00:00:02.000000000Z b",
            "2026-01-01T00:00:02.000000000Z c",
        ];
        let got: Vec<_> = first
            .iter()
            .filter_map(|l| resume.accept(l).map(str::to_string))
            .collect();
        assert_eq!(got, ["a", "b", "c"]);
        // The stream dropped; sinceTime (second precision) replays from 00:00:01.
        resume.begin_stream();
        let replay = [
            first[0],
            first[1],
            first[2],
            "2026-01-01T00:00:02.000000000Z d",
            "2026-01-01T00:00:03.5Z e",
        ];
        let got: Vec<_> = replay
            .iter()
            .filter_map(|l| resume.accept(l).map(str::to_string))
            .collect();
        assert_eq!(got, ["d", "e"]);
    }

    #[test]
    fn lines_without_a_timestamp_are_not_container_output() {
        let mut resume = ResumePoint::default();
        assert_eq!(resume.accept("failed to create fsnotify watcher: too many open files"), None);
        assert_eq!(resume.accept("2026-01-01T00:00:01Z "), Some(""));
    }
}
