//! Which stages a target needs, and in which order: a stage depends on the earlier stage
//! its `FROM` names and on every stage a `COPY --from` names (by name or index). Stages the
//! target does not reach are never built; the rest are ordered in waves, each wave holding
//! stages whose dependencies are all in earlier waves, so a wave can build in parallel.

use crate::instructions::Dockerfile;

/// The stage a reference names from stage `current` (a name, or an index below `current`),
/// if any; anything else is an image reference.
pub fn stage_ref(df: &Dockerfile, reference: &str, current: usize) -> Option<usize> {
    let lower = reference.to_ascii_lowercase();
    if let Some(i) = df.stages[..current.min(df.stages.len())]
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
    {
        return Some(i);
    }
    match reference.parse::<usize>() {
        Ok(i) if i < current => Some(i),
        _ => None,
    }
}

/// The waves of stages to build for `target`. `refs(i)` lists the (expanded) references
/// stage `i` makes: its `FROM` base and its `COPY --from` values.
pub fn waves(
    df: &Dockerfile,
    target: usize,
    refs: &dyn Fn(usize) -> Vec<String>,
) -> Vec<Vec<usize>> {
    let n = df.stages.len();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut needed = vec![false; n];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if needed[i] {
            continue;
        }
        needed[i] = true;
        for r in refs(i) {
            if let Some(d) = stage_ref(df, &r, i) {
                if !deps[i].contains(&d) {
                    deps[i].push(d);
                }
                todo.push(d);
            }
        }
    }
    let mut level = vec![usize::MAX; n];
    // Dependencies always point to earlier stages, so one forward pass settles levels.
    for i in 0..n {
        if needed[i] {
            level[i] = deps[i].iter().map(|&d| level[d] + 1).max().unwrap_or(0);
        }
    }
    let top = level
        .iter()
        .filter(|&&l| l != usize::MAX)
        .max()
        .copied()
        .unwrap_or(0);
    (0..=top)
        .map(|l| (0..n).filter(|&i| level[i] == l).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::{Dockerfile, Instruction};

    fn refs_of(df: &Dockerfile) -> impl Fn(usize) -> Vec<String> + '_ {
        move |i| {
            let s = &df.stages[i];
            let mut r = vec![s.base.clone()];
            for c in &s.commands {
                if let Instruction::Copy(c) = &c.instruction {
                    r.extend(c.from.clone());
                }
            }
            r
        }
    }

    #[test]
    fn only_needed_stages_in_waves() {
        let df = Dockerfile::parse(
            "FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS unused\nFROM a AS c\nCOPY --from=b /x /x\nCOPY --from=0 /y /y\n",
        )
        .unwrap();
        let r = refs_of(&df);
        assert_eq!(waves(&df, 3, &r), vec![vec![0, 1], vec![3]]);
        assert_eq!(waves(&df, 1, &r), vec![vec![1]]);
        assert_eq!(stage_ref(&df, "A", 3), Some(0));
        assert_eq!(
            stage_ref(&df, "c", 3),
            None,
            "a stage cannot name itself or later ones"
        );
        assert_eq!(stage_ref(&df, "busybox", 3), None);
    }
}
