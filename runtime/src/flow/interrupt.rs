//! A request to stop a run early (SIGINT or SIGTERM at the command line): running flows
//! abort their stores, so their staging is removed and their destinations stay as they were,
//! and no new flow starts.

use tokio::sync::watch;

/// Fires the [`Interrupt`]s made with it.
#[derive(Debug)]
pub struct InterruptTrigger(watch::Sender<bool>);

impl InterruptTrigger {
    /// Asks every flow of the run to stop.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

/// Whether the run was asked to stop; cheap to clone, one per flow.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// An interrupt and the trigger that fires it.
    pub fn new() -> (InterruptTrigger, Interrupt) {
        let (sender, receiver) = watch::channel(false);
        (InterruptTrigger(sender), Interrupt(receiver))
    }

    /// An interrupt that never fires (for runs nobody can stop, such as tests).
    pub fn never() -> Interrupt {
        Interrupt::new().1
    }

    /// Whether it fired.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when it fires; never when its trigger is gone unfired.
    pub async fn fired(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
