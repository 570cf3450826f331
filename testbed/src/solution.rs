//! The plug-in point: one [`Solution`] per solution file, registered in [`crate::scenarios`].
//! A solution carries its key issue, clause, titles and figures, the network functions its
//! world needs, its testbed choices and its variants. The catalogue (`testbed list`), the
//! dashboard's solution list, the per-variant tests and the choices table all read the
//! registry; nothing else lists solutions.

use serde::Serialize;

use crate::choices::Choice;
use crate::run::judge::Check;
use crate::run::play::Script;
use crate::scenario::Figure;
use crate::threats::ThreatId;
use crate::world::{Family, Setup};

/// A key issue of TR 33.790 clause 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyIssue {
    /// Its number (clause 5.N).
    pub number: u8,
    /// Its title, short enough for the dashboard (`third-party IDs`).
    pub title: &'static str,
}

/// Key issue #1: third-party specific user identities (clause 5.1).
pub const KI1: KeyIssue = KeyIssue {
    number: 1,
    title: "third-party IDs",
};

/// Key issue #2: IMS based avatar communication (clause 5.2).
pub const KI2: KeyIssue = KeyIssue {
    number: 2,
    title: "avatars",
};

/// Key issue #3: security and privacy of IMS data channel capability exposure (clause 5.3).
pub const KI3: KeyIssue = KeyIssue {
    number: 3,
    title: "DC exposure",
};

/// Builds the IMS AS behaviour a solution's operators deploy (`ims_as::flows::*`).
pub type AsFlow = fn() -> std::sync::Arc<dyn ims_as::Flow>;

/// One TR 33.790 solution.
#[derive(Debug, Clone, Copy)]
pub struct Solution {
    /// Its number (clause 6.N).
    pub number: u8,
    /// The key issue it addresses.
    pub key_issue: KeyIssue,
    /// Its clause (`6.2`).
    pub clause: &'static str,
    /// Its title, in our words.
    pub title: &'static str,
    /// A title that fits 80 columns.
    pub short: &'static str,
    /// The figures its variants follow.
    pub figures: &'static [&'static str],
    /// The network function families its world needs beyond the core (a variant may need
    /// more: [`Setup::needs`]). The core is always there: the two operators' CSCFs, IBCFs, IMS
    /// ASs, HSSs, STI-AS/VS/CR, the enterprise's 3P ID server and IP-PBX, the UEs and the DNS.
    pub needs: &'static [Family],
    /// The testbed choices it makes (the rows of the choices table that are its own).
    pub choices: &'static [Choice],
    /// What its operators' IMS ASs do.
    pub as_flow: AsFlow,
    /// Its variants: the happy paths and the threats.
    pub variants: fn() -> Vec<Variant>,
}

/// A threat of TR 33.790 clause 5 a variant switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threat {
    /// Where the TR states it (`5.1.2`).
    pub clause: &'static str,
    /// The threat, in our words.
    pub text: &'static str,
    /// The catalogue threats ([`crate::threats`]) the variant demonstrates; empty when it shows
    /// a check of the clause without any of the TR's threats as the TR states them. Not part of
    /// the JSON export (format version 2).
    #[serde(skip)]
    pub ids: &'static [ThreatId],
}

/// A scenario variant: one flow of one solution, with or without a threat switched on.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The solution's number.
    pub solution: u8,
    /// Its id within the solution (`single`, `rcd-tampered`).
    pub id: &'static str,
    /// What happens, in our words.
    pub title: &'static str,
    /// The threat the variant shows mitigated.
    pub threat: Option<Threat>,
    /// The figure, with what this variant takes, skips and prevents.
    pub figure: Figure,
    /// Testbed choices the flow depends on.
    pub choices: Vec<&'static Choice>,
    /// What the world is started with.
    pub setup: Setup,
    /// What the users do.
    pub script: Script,
    /// What must be observed.
    pub checks: Vec<Check>,
}

impl Variant {
    /// `2:single`, as the command line names it.
    pub fn name(&self) -> String {
        format!("{}:{}", self.solution, self.id)
    }

    /// The solution it belongs to.
    pub fn solution(&self) -> Option<&'static Solution> {
        crate::scenarios::solution(self.solution)
    }

    /// The families its world needs: its solution's and its own.
    pub fn needs(&self) -> Vec<Family> {
        let solution = self.solution().map_or(&[][..], |s| s.needs);
        crate::world::family::union(solution, &self.setup.needs)
    }
}
