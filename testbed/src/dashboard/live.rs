//! The dashboard attached to a served world (`testbed tui --attach ADDR`): a background thread
//! polls the world's live trace ([`crate::live`]), the records are kept in causal order, the
//! calls seen so far are listed by SIP Call-ID, and the ladder and the selected message's tabs
//! are the offline dashboard's, drawn from a [`View`] of the records (no TR steps: a served
//! world plays no variant).
//!
//! [`Live`] is the state and its keys (pure, unit-tested); [`run`] is the driver.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use proto::trace::{Body, Proto, Record};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

use super::app::{App, Input, Tab, Theme};
use super::model::View;
use super::ui;
use crate::live::{Client, LiveError, World};
use crate::scenario::content::Content;

/// How long a trace request may wait on the server for new records.
const WAIT_MS: u64 = 1000;
/// Pause between attempts after the connection is lost.
const RETRY: Duration = Duration::from_secs(1);
/// What a node is called when the message came from, or went to, outside the world.
pub const OUTSIDE: &str = "outside";

/// What the poller tells the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The world's description (on connecting, and again after a loss).
    World(World),
    /// New records, in the tap's arrival order.
    Records(Vec<Record>),
    /// The world's trace is shorter than what was read: it restarted; start over.
    Reset(String),
    /// A request failed; the poller retries in a second.
    Lost {
        /// What failed.
        reason: String,
        /// Failed attempts in a row.
        retries: u32,
    },
}

/// The state of the connection, as the status line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not answered yet.
    Connecting,
    /// The last request was answered.
    Up,
    /// The last request failed.
    Lost {
        /// What failed.
        reason: String,
        /// Failed attempts in a row.
        retries: u32,
    },
}

/// One SIP dialog seen so far (by Call-ID): a call, a registration, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The method of its first request (`INVITE`, `REGISTER`).
    pub method: String,
    /// The user part of the first request's From URI.
    pub caller: String,
    /// The user part of the first request's To URI.
    pub callee: String,
    /// The last final status answering the first request's method (else the last
    /// provisional one), if any yet.
    pub status: Option<u16>,
    /// Whether a BYE was seen.
    pub ended: bool,
    /// Index (into the causal records) of its first and last SIP message.
    pub span: (usize, usize),
}

impl Call {
    /// One line for the call list: `+12025551000→+12155551001 200 ended` for a call,
    /// `REGISTER +12025551000 200` for another dialog.
    pub fn line(&self) -> String {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => "…".into(),
        };
        let ended = if self.ended { " ended" } else { "" };
        let method = if self.method == "INVITE" {
            String::new()
        } else {
            format!("{} ", self.method)
        };
        let route = if self.callee == self.caller {
            self.caller.clone()
        } else {
            format!("{}→{}", self.caller, self.callee)
        };
        format!("{method}{route} {status}{ended}")
    }
}

/// Everything the attached dashboard shows.
#[derive(Debug)]
pub struct Live {
    /// The ladder and tab state (its `live` view is what the ladder draws).
    pub app: App,
    /// The address attached to.
    pub addr: String,
    /// The world, once it answered.
    pub world: Option<World>,
    /// Every record so far, in causal order, messages from outside completed.
    records: Vec<Record>,
    /// Every record so far, in arrival order.
    arrived: Vec<Record>,
    /// The dialogs seen so far, in order of first message.
    pub calls: Vec<Call>,
    /// 0: every record; `i`: only `calls[i - 1]`.
    pub call: usize,
    /// Whether the selection follows the newest row.
    pub follow: bool,
    /// The connection.
    pub link: Link,
    /// Whether the key help is open.
    pub help: bool,
}

impl Live {
    /// Nothing received yet from the world at `addr`.
    pub fn new(addr: &str, theme: Theme) -> Live {
        let mut app = App::new(Vec::new(), theme);
        app.live = Some(View::from_records("live".into(), &[], &[]));
        Live {
            app,
            addr: addr.to_owned(),
            world: None,
            records: Vec::new(),
            arrived: Vec::new(),
            calls: Vec::new(),
            call: 0,
            follow: true,
            link: Link::Connecting,
            help: false,
        }
    }

    /// Records so far, in causal order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The selected call, if one is (else every record is shown).
    pub fn selected_call(&self) -> Option<&Call> {
        self.call.checked_sub(1).and_then(|i| self.calls.get(i))
    }

    /// Applies what the poller said (a burst of updates at once: the trace is sorted and the
    /// ladder rebuilt once).
    pub fn update(&mut self, updates: impl IntoIterator<Item = Update>) {
        let mut changed = false;
        for update in updates {
            match update {
                Update::World(w) => {
                    self.world = Some(w);
                    self.link = Link::Up;
                    changed = true;
                }
                Update::Records(new) => {
                    self.link = Link::Up;
                    changed |= !new.is_empty();
                    self.arrived.extend(new);
                }
                Update::Reset(reason) => {
                    self.arrived.clear();
                    self.call = 0;
                    self.app.selected = 0;
                    self.app.status = format!("started over: {reason}");
                    changed = true;
                }
                Update::Lost { reason, retries } => self.link = Link::Lost { reason, retries },
            }
        }
        if changed {
            self.records = complete(&self.arrived);
            self.calls = calls(&self.records);
            self.rebuild();
        }
    }

    /// Rebuilds the ladder's view for the selected call, keeping the selection (or following
    /// the tail).
    fn rebuild(&mut self) {
        let ports = self.world.as_ref().map_or(&[][..], |w| &w.ports[..]);
        let shown = match self.selected_call() {
            Some(c) => of_call(&self.records, c),
            None => self.records.clone(),
        };
        self.app.live = Some(View::from_records("live".into(), &shown, ports));
        let n = self.app.visible().len();
        self.app.selected = if self.follow {
            n.saturating_sub(1)
        } else {
            self.app.selected.min(n.saturating_sub(1))
        };
    }

    /// Applies one key.
    pub fn key(&mut self, input: Input) {
        if self.app.search_input.is_some() {
            self.app.key(input);
            return;
        }
        if self.help {
            self.help = false;
            if matches!(input, Input::Quit | Input::Char('q')) {
                self.app.quit = true;
            }
            return;
        }
        match input {
            Input::Left | Input::Char('h') => self.pick_call(false),
            Input::Right | Input::Char('l') => self.pick_call(true),
            Input::Char('a') => {
                self.call = 0;
                self.rebuild();
            }
            Input::Char('f') => {
                self.follow = !self.follow;
                self.app.status = if self.follow {
                    "following new rows".into()
                } else {
                    "not following".into()
                };
                self.rebuild();
            }
            Input::Char('?') => self.help = true,
            Input::Tab => {
                // No TR figure in a served world: the Step tab has nothing to show.
                self.app.key(Input::Tab);
                if self.app.tab == Tab::Step {
                    self.app.key(Input::Tab);
                }
            }
            Input::Up
            | Input::Down
            | Input::PageUp
            | Input::PageDown
            | Input::ClickRow(_)
            | Input::Char('j' | 'k' | 'g' | 'G' | 'n') => {
                self.follow = false;
                self.app.key(input);
            }
            Input::Quit
            | Input::Char('q' | 'J' | 'K' | 's' | '/' | 'd' | 't')
            | Input::Esc
            | Input::Enter => {
                self.app.key(input);
            }
            _ => {}
        }
    }

    /// Whether the user quit.
    pub fn quit(&self) -> bool {
        self.app.quit
    }

    /// `←`/`→`: the previous or next call (0, every record, between the last and the first).
    fn pick_call(&mut self, forward: bool) {
        let n = self.calls.len() + 1;
        self.call = if forward {
            (self.call + 1) % n
        } else {
            (self.call + n - 1) % n
        };
        self.app.selected = 0;
        self.app.detail_scroll = 0;
        self.app.diff_base = None;
        self.app.diffing = false;
        self.follow = false;
        self.rebuild();
    }
}

/// `records` (arrival order) in causal order, each message that came from outside the world
/// (received, never sent by a node; DNS aside) given a send from [`OUTSIDE`] (or the node the
/// tap named as its sender) just before its receive, and
/// each message to an unknown address sent to [`OUTSIDE`]: so the ladder shows them.
pub fn complete(records: &[Record]) -> Vec<Record> {
    let mut ordered = records.to_vec();
    kit::tap::order(&mut ordered);
    let sent: HashSet<u64> = ordered
        .iter()
        .filter_map(|r| match &r.body {
            Body::Sent { msg, .. } => Some(*msg),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(ordered.len());
    for mut r in ordered {
        match &mut r.body {
            // DNS answers have no send: the world's DNS server records nothing.
            Body::Received { msg, from, message }
                if !sent.contains(msg) && message.proto != Proto::Dns =>
            {
                out.push(Record {
                    lamport: r.lamport,
                    node: from.clone().unwrap_or_else(|| OUTSIDE.to_owned()),
                    node_seq: 0,
                    at: r.at,
                    body: Body::Sent {
                        msg: *msg,
                        to: Some(r.node.clone()),
                        message: message.clone(),
                    },
                });
            }
            Body::Sent { to: to @ None, .. } => *to = Some(OUTSIDE.to_owned()),
            _ => {}
        }
        out.push(r);
    }
    out
}

/// The SIP dialogs of `records` (causal order), by Call-ID, in order of first message. Only
/// sends are read (a message crossing five proxies is one message, not five).
pub fn calls(records: &[Record]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let Body::Sent { message, .. } = &r.body else {
            continue;
        };
        if message.proto != Proto::Sip {
            continue;
        }
        let content = Content::of(message);
        let Some(call_id) = content.call_id() else {
            continue;
        };
        let request = match &content {
            Content::Sip(s) => s.method.clone(),
            _ => None,
        };
        let pos = match calls.iter().position(|c| c.call_id == call_id) {
            Some(pos) => pos,
            None => {
                let Some(method) = request.clone() else {
                    continue; // a response to a request not seen: not a dialog of this trace
                };
                let user = |name: &str| {
                    content
                        .name_addr(name)
                        .map_or_else(|| "?".to_owned(), |a| user_of(&a.uri))
                };
                calls.push(Call {
                    call_id,
                    caller: user("From"),
                    callee: user("To"),
                    method,
                    status: None,
                    ended: false,
                    span: (i, i),
                });
                calls.len() - 1
            }
        };
        let call = &mut calls[pos];
        call.span.1 = i;
        if request.as_deref() == Some("BYE") {
            call.ended = true;
        }
        if let (Some(status), Some(method)) = (content.status(), content.cseq_method()) {
            let settled = call.status.is_some_and(|s| s >= 200);
            if method == call.method && (status >= 200 || !settled) {
                call.status = Some(status);
            }
        }
    }
    calls
}

/// The user part of a SIP or tel URI: `sip:+12025551000@ims.a;user=phone` → `+12025551000`.
fn user_of(uri: &str) -> String {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    let end = rest.find(['@', ';', '?']).unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// The records of `call`: its SIP messages, every other record between its first and last
/// SIP message (the HTTP and DNS exchanges it caused, and those of anything concurrent), and
/// every note about a message kept.
pub fn of_call(records: &[Record], call: &Call) -> Vec<Record> {
    let (first, last) = call.span;
    let mut kept: HashSet<u64> = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let keep = match &r.body {
            Body::Sent { msg, message, .. } | Body::Received { msg, message, .. } => {
                let ours = if message.proto == Proto::Sip {
                    Content::of(message).call_id().as_deref() == Some(call.call_id.as_str())
                } else {
                    (first..=last).contains(&i)
                };
                if ours {
                    kept.insert(*msg);
                }
                ours
            }
            Body::Note { msg: Some(m), .. } => kept.contains(m),
            Body::Note { msg: None, .. } => (first..=last).contains(&i),
        };
        if keep {
            out.push(r.clone());
        }
    }
    out
}

/// Polls the world at `client` on a thread of its own (with its own runtime), until `stop` is
/// set or the receiver is dropped. Each request is bounded by the client's timeout; after a
/// failure it waits a second and tries again, saying so.
pub fn spawn_poller(
    client: Client,
    stop: Arc<AtomicBool>,
) -> std::io::Result<mpsc::Receiver<Update>> {
    let (tell, told) = mpsc::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("live-poller".into())
        .spawn(move || runtime.block_on(poll(client, stop, tell)))?;
    Ok(told)
}

async fn poll(client: Client, stop: Arc<AtomicBool>, tell: mpsc::Sender<Update>) {
    let mut next = 0;
    let mut retries = 0;
    let mut world_known = false;
    while !stop.load(Ordering::Relaxed) {
        let update = if world_known {
            match client.page(next, WAIT_MS).await {
                Ok(page) => {
                    next = page.next;
                    Ok(Update::Records(page.records))
                }
                Err(LiveError::Status {
                    status: 400,
                    reason,
                    ..
                }) => {
                    next = 0;
                    world_known = false;
                    Ok(Update::Reset(reason))
                }
                Err(e) => Err(e),
            }
        } else {
            client.world().await.map(|w| {
                world_known = true;
                Update::World(w)
            })
        };
        let update = update.unwrap_or_else(|e| {
            retries += 1;
            world_known = false;
            Update::Lost {
                reason: e.to_string(),
                retries,
            }
        });
        let lost = matches!(update, Update::Lost { .. });
        if !lost {
            retries = 0;
        }
        if tell.send(update).is_err() {
            break;
        }
        if lost {
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// Attaches to the served world at `addr` until the user quits.
pub fn run(addr: &str, theme: Theme) -> anyhow::Result<()> {
    let client = Client::new(addr, Duration::from_secs(3))?;
    let stop = Arc::new(AtomicBool::new(false));
    let told = spawn_poller(client.clone(), stop.clone())?;
    let mut live = Live::new(client.base(), theme);
    let mut terminal = ratatui::try_init()?;
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = (|| -> anyhow::Result<()> {
        let mut geometry = ui::LadderGeometry::default();
        while !live.quit() {
            terminal.draw(|frame| geometry = ui::draw_live(frame, &live))?;
            if event::poll(Duration::from_millis(100))? {
                let ev = event::read()?;
                if let Some(input) = super::input_of(&ev, &geometry) {
                    live.key(input);
                }
            }
            // Many small pages in a burst: apply them all, then draw once.
            live.update(told.try_iter());
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests;
