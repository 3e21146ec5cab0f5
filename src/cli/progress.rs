//! The progress bar of `poolcheck run`: drawn on standard error when it is a terminal, absent
//! otherwise, so what a pipe or a CI log receives is the same with or without it.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use poolcheck::harness::Progress;

/// A bar for one profile's run, or nothing when standard error is not a terminal.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(profile: &str, cases: u32) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar =
            ProgressBar::with_draw_target(Some(u64::from(cases)), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} cases {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(profile.to_string());
        Bar(Some(bar))
    }

    /// Follow the harness's progress.
    pub fn update(&self, progress: Progress) {
        let Some(bar) = &self.0 else { return };
        match progress {
            Progress::Cases { done, .. } => bar.set_position(u64::from(done)),
            Progress::Shrinking { rule } => {
                bar.set_message(format!("shrinking a failure of {rule}"))
            }
        }
    }

    /// Remove the bar before the report is printed.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
