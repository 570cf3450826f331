//! The client transaction (RFC 3261 §17.1, RFC 6026 §7.2), with Timer C of a proxy or UA that
//! sent an INVITE and only ever hears provisionals (§16.6 step 11, §16.8).

use std::time::{Duration, Instant};

use rsipstack::sip::{Method, Request, Response};

use super::{ack_for_failure, later};
use crate::sip::{SipTransport, Timers, proxy, ua};

/// Where a client transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Calling (INVITE) / Trying (non-INVITE): nothing heard yet.
    Calling,
    /// A provisional came.
    Proceeding,
    /// INVITE answered 2xx (RFC 6026 §7.2): further 2xx reach the TU until Timer M.
    Accepted,
    /// A final response came (a 3xx–6xx to INVITE, anything to a non-INVITE).
    Completed,
    /// Timer C fired after a provisional: CANCEL sent, 408 given; waiting for the final.
    Cancelled,
    /// Over: the transaction is forgotten.
    Terminated,
}

/// What happens to a client transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientInput {
    /// A response matched it; the number is the trace id of the message, handed to the TU.
    Response(Response, u64),
    /// Time passed: the driver calls this at [`Client::next_wake`].
    Tick,
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOutput {
    /// Send the request again (Timer A or E).
    Retransmit,
    /// Send this ACK of a 3xx–6xx (the same one for every retransmission of the response).
    SendAck(Request),
    /// Give the TU this response (with its trace id; `None` for one made here, a 408).
    ToTu(Response, Option<u64>),
    /// The TU gets nothing more (after a final response, or the local 408).
    TuDone,
    /// Start this CANCEL in its own transaction (Timer C).
    Cancel(Request),
    /// The transaction is over: forget it.
    Terminated,
}

/// A client transaction.
#[derive(Debug, Clone)]
pub struct Client {
    request: Request,
    invite: bool,
    udp: bool,
    timers: Timers,
    state: ClientState,
    /// Timer A / E: next retransmission and the current interval.
    retx: Option<(Instant, Duration)>,
    /// Timer B / F.
    timeout: Option<Instant>,
    timer_c: Option<Instant>,
    /// Timers D, K, M; the wait after Timer C.
    end: Option<Instant>,
    /// The ACK of a 3xx–6xx, once made.
    ack: Option<Request>,
    /// Whether the TU still takes responses (not after a final one or a local 408).
    tu_open: bool,
}

impl Client {
    /// A transaction for `request`, sent at `now` over `transport` (the driver sends it).
    pub fn new(request: Request, transport: SipTransport, timers: Timers, now: Instant) -> Self {
        let invite = request.method == Method::Invite;
        let udp = transport.is_udp();
        Self {
            request,
            invite,
            udp,
            timers,
            state: ClientState::Calling,
            retx: udp.then_some((later(now, timers.t1), timers.t1)),
            timeout: Some(later(now, timers.t1x64())),
            timer_c: invite.then_some(later(now, timers.timer_c)),
            end: None,
            ack: None,
            tu_open: true,
        }
    }

    /// Where the transaction is.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The request it sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// When the machine next needs [`ClientInput::Tick`]; `None` once terminated.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.state == ClientState::Terminated {
            return None;
        }
        [self.retx.map(|r| r.0), self.timeout, self.timer_c, self.end]
            .into_iter()
            .flatten()
            .min()
    }

    /// Feeds the machine one input at `now`.
    pub fn handle(&mut self, now: Instant, input: ClientInput) -> Vec<ClientOutput> {
        if self.state == ClientState::Terminated {
            return Vec::new();
        }
        let mut out = Vec::new();
        match input {
            ClientInput::Response(response, id) => self.on_response(now, response, id, &mut out),
            ClientInput::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    fn deliver(&mut self, response: Response, id: Option<u64>, out: &mut Vec<ClientOutput>) {
        if self.tu_open {
            out.push(ClientOutput::ToTu(response, id));
        }
    }

    fn local_408(&mut self, out: &mut Vec<ClientOutput>) {
        let response = proxy::response_to(&self.request, 408, "Request Timeout", None);
        self.deliver(response, None, out);
        self.close_tu(out);
    }

    fn close_tu(&mut self, out: &mut Vec<ClientOutput>) {
        if self.tu_open {
            self.tu_open = false;
            out.push(ClientOutput::TuDone);
        }
    }

    fn ack(&mut self, response: &Response, out: &mut Vec<ClientOutput>) {
        let ack = self
            .ack
            .get_or_insert_with(|| ack_for_failure(&self.request, response));
        out.push(ClientOutput::SendAck(ack.clone()));
    }

    /// Timer D (INVITE) or K (non-INVITE): how long a completed transaction absorbs
    /// retransmitted finals.
    fn completed_wait(&self) -> Duration {
        match (self.udp, self.invite) {
            (false, _) => Duration::ZERO,
            (true, true) => self.timers.t1x64(),
            (true, false) => self.timers.t4,
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        response: Response,
        id: u64,
        out: &mut Vec<ClientOutput>,
    ) {
        let t = self.timers;
        let code = response.status_code.code();
        match (self.state, code) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                if self.invite {
                    self.retx = None;
                    self.timeout = None;
                    if code > 100 {
                        self.timer_c = Some(later(now, t.timer_c));
                    }
                }
                self.deliver(response, Some(id), out);
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) if self.invite => {
                self.state = ClientState::Accepted;
                self.retx = None;
                self.timeout = None;
                self.timer_c = None;
                // Timer M.
                self.end = Some(later(now, t.t1x64()));
                self.deliver(response, Some(id), out);
            }
            (ClientState::Accepted, 200..=299) => self.deliver(response, Some(id), out),
            (ClientState::Calling | ClientState::Proceeding, 300..=699) if self.invite => {
                self.state = ClientState::Completed;
                self.retx = None;
                self.timeout = None;
                self.timer_c = None;
                self.ack(&response, out);
                self.end = Some(later(now, self.completed_wait()));
                self.deliver(response, Some(id), out);
                self.close_tu(out);
            }
            (ClientState::Completed, 300..=699) if self.invite => self.ack(&response, out),
            (ClientState::Cancelled, 300..=699) => {
                self.state = ClientState::Completed;
                self.ack(&response, out);
                self.end = Some(later(now, self.completed_wait()));
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=699) => {
                self.state = ClientState::Completed;
                self.retx = None;
                self.timeout = None;
                self.end = Some(later(now, self.completed_wait()));
                self.deliver(response, Some(id), out);
                self.close_tu(out);
            }
            // Retransmissions of a final response, stray provisionals: absorbed.
            _ => {}
        }
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<ClientOutput>) {
        let t = self.timers;
        if let Some((at, interval)) = self.retx
            && at <= now
        {
            out.push(ClientOutput::Retransmit);
            let interval = if self.invite {
                interval.saturating_mul(2)
            } else if self.state == ClientState::Proceeding {
                t.t2
            } else {
                interval.saturating_mul(2).min(t.t2)
            };
            self.retx = Some((later(now, interval), interval));
        }
        if self.timeout.is_some_and(|at| at <= now) {
            // Timer B / F.
            self.local_408(out);
            self.terminate(out);
            return;
        }
        if self.timer_c.is_some_and(|at| at <= now) {
            self.timer_c = None;
            match self.state {
                ClientState::Proceeding => {
                    if let Ok(cancel) = ua::cancel_for(&self.request) {
                        out.push(ClientOutput::Cancel(cancel));
                    }
                    self.local_408(out);
                    self.state = ClientState::Cancelled;
                    self.end = Some(later(now, t.t1x64()));
                }
                ClientState::Calling => {
                    self.local_408(out);
                    self.terminate(out);
                    return;
                }
                _ => {}
            }
        }
        if self.end.is_some_and(|at| at <= now) {
            self.terminate(out);
        }
    }

    fn terminate(&mut self, out: &mut Vec<ClientOutput>) {
        self.state = ClientState::Terminated;
        out.push(ClientOutput::Terminated);
    }
}
