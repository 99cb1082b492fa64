//! Execution order: prompts first, then flows after the sub-flows they start.

use super::Error;
use crate::load::Desired;
use crate::model::Kind;
use std::collections::BTreeMap;

/// The wave of each desired resource (same index): prompts are wave 0, a flow runs one
/// wave after the deepest flow it references. A cycle is an error.
pub fn waves(desired: &[Desired]) -> Result<Vec<usize>, Error> {
    let flows: BTreeMap<&str, usize> = desired
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Flow)
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    let mut memo: Vec<Option<usize>> = vec![None; desired.len()];
    for i in 0..desired.len() {
        let mut stack = Vec::new();
        depth(desired, &flows, i, &mut memo, &mut stack)?;
    }
    Ok(memo.into_iter().map(Option::unwrap_or_default).collect())
}

fn depth(
    desired: &[Desired],
    flows: &BTreeMap<&str, usize>,
    i: usize,
    memo: &mut Vec<Option<usize>>,
    stack: &mut Vec<usize>,
) -> Result<usize, Error> {
    if let Some(w) = memo[i] {
        return Ok(w);
    }
    if let Some(pos) = stack.iter().position(|s| *s == i) {
        let named = |s: &usize| format!("{} ({})", desired[*s].id, desired[*s].source);
        let mut cycle: Vec<String> = stack[pos..].iter().map(named).collect();
        cycle.push(desired[i].id.clone());
        return Err(Error::Cycle(cycle.join(" -> ")));
    }
    if desired[i].kind == Kind::PromptTemplate {
        memo[i] = Some(0);
        return Ok(0);
    }
    stack.push(i);
    let mut wave = 1;
    for r in desired[i]
        .references
        .iter()
        .filter(|r| r.kind == Kind::Flow)
    {
        if let Some(&j) = flows.get(r.id.as_str()) {
            wave = wave.max(depth(desired, flows, j, memo, stack)? + 1);
        }
    }
    stack.pop();
    memo[i] = Some(wave);
    Ok(wave)
}
