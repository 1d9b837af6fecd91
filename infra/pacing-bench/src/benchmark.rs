//! The benchmark proper: every policy of the table run on a scenario, with
//! the hindsight-best and in-advance fixed ratios beside them.

use crate::vicidial::ViciMode;
use crate::{fixed_in_advance, fixed_scan, hindsight_best, run_all, Metrics, Policy, Scenario};

/// The policies of the benchmark, in table order (the hindsight-best fixed
/// ratio is computed separately by [`run_scenario`]).
pub fn policies() -> Vec<Policy> {
    vec![
        Policy::Fixed(1.0),
        Policy::Fixed(1.2),
        Policy::Fixed(1.5),
        Policy::Fixed(2.0),
        Policy::Tutorial,
        Policy::ViciDial(ViciMode::Tapered),
        Policy::ViciDial(ViciMode::Average),
        Policy::Engine,
    ]
}

/// One scenario's results: every policy plus the hindsight-best fixed ratio.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// (policy name, metrics) in table order, hindsight-best after the fixed ratios.
    pub rows: Vec<(String, Metrics)>,
    /// The best fixed ratio chosen on the other seeds ([`fixed_in_advance`];
    /// `None` with one seed).
    pub fixed_in_advance: Option<Metrics>,
}

impl ScenarioResult {
    /// The metrics of the policy with this name.
    pub fn get(&self, name: &str) -> Option<&Metrics> {
        self.rows.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }
}

/// Name of the hindsight-best row.
pub const HINDSIGHT: &str = "hindsight-best fixed";

/// Runs a scenario under every policy.
pub fn run_scenario(sc: &Scenario) -> ScenarioResult {
    let scans: Vec<Vec<Metrics>> = sc.seeds.iter().map(|&s| fixed_scan(sc, s)).collect();
    let mut rows = Vec::new();
    for p in policies() {
        rows.push((p.name(), run_all(sc, p)));
        if p == Policy::Fixed(2.0) {
            let mut hindsight = Metrics::default();
            for scan in &scans {
                hindsight.add(&hindsight_best(scan));
            }
            rows.push((HINDSIGHT.to_string(), hindsight));
        }
    }
    ScenarioResult {
        scenario: sc.clone(),
        rows,
        fixed_in_advance: fixed_in_advance(sc, &scans),
    }
}
