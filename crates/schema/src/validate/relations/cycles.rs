//! With `relationMode = "prisma"`, Prisma Client carries out referential actions itself,
//! and refuses schemas where they could loop: a self-relation, or a cycle of relations,
//! whose actions are not all `NoAction`/`Restrict` (the defaults, `SetNull`/`Restrict` on
//! delete and `Cascade` on update, count as acting).

use crate::fx::FxHashMap;
use crate::ir::{Model, ReferentialAction, Relation};
use crate::validate::Cx;

/// Whether a change to the referenced row can act on the referencing rows.
fn acts(relation: &Relation) -> bool {
    let passive = |action: Option<ReferentialAction>| {
        matches!(action, Some(ReferentialAction::NoAction | ReferentialAction::Restrict))
    };
    !(passive(relation.on_delete) && passive(relation.on_update))
}

pub(super) fn check(relations: &[Relation], models: &[Model], cx: &mut Cx<'_, '_>) {
    let span_of = |relation: &Relation| {
        models
            .iter()
            .find(|m| m.name == relation.referencing.model)
            .and_then(|m| m.field(&relation.referencing.field))
            .map_or_else(Default::default, |f| f.span)
    };
    // Edges from the referenced model to the referencing one: where an action travels.
    // Models are numbered as the acting relations name them.
    let mut node_of: FxHashMap<&str, usize> = FxHashMap::default();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for relation in relations.iter().filter(|r| !r.fields.is_empty() && acts(r)) {
        let (from, to) = (relation.referenced.model.as_str(), relation.referencing.model.as_str());
        if from == to {
            cx.diagnostics
                .error(
                    "E0325",
                    "a self-relation needs `onDelete` and `onUpdate` set to `NoAction` or `Restrict`",
                    span_of(relation),
                )
                .label("its referential actions could loop with `relationMode = \"prisma\"`")
                .help("add `onDelete: Restrict, onUpdate: Restrict` to this `@relation`");
            continue;
        }
        let next = node_of.len();
        let from = *node_of.entry(from).or_insert(next);
        let next = node_of.len();
        let to = *node_of.entry(to).or_insert(next);
        edges.push((from, to));
    }
    // An edge closes a cycle when its end reaches its start again: when both lie in one
    // strongly connected component. One pass finds them all, where a search per relation
    // took time quadratic in the relations.
    let component = components(node_of.len(), &edges);
    let mut edge = edges.iter();
    for relation in relations.iter().filter(|r| !r.fields.is_empty() && acts(r)) {
        if relation.referenced.model == relation.referencing.model {
            continue;
        }
        let Some(&(from, to)) = edge.next() else { break };
        if component[from] == component[to] {
            cx.diagnostics
                .error(
                    "E0326",
                    format!("the relation `{}` closes a cycle of referential actions", relation.name),
                    span_of(relation),
                )
                .label("actions could travel round this cycle with `relationMode = \"prisma\"`")
                .help("set `onDelete` and `onUpdate` to `NoAction` or `Restrict` on one relation of the cycle");
        }
    }
}

/// The strongly connected component of each of `nodes` nodes (Kosaraju's algorithm: a
/// depth-first search orders the nodes by finishing time, and searches over the reversed
/// edges in the reverse of that order then collect one component each).
fn components(nodes: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let forward = adjacency(nodes, edges.iter().copied());
    let backward = adjacency(nodes, edges.iter().map(|&(a, b)| (b, a)));

    // Finishing order, by an iterative search: each stack entry is a node and how many of
    // its edges have been followed.
    let mut finished = Vec::with_capacity(nodes);
    let mut seen = vec![false; nodes];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..nodes {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        stack.push((root, 0));
        while let Some((node, followed)) = stack.last_mut() {
            let node = *node;
            match forward.of(node).get(*followed) {
                Some(&next) => {
                    *followed += 1;
                    if !seen[next] {
                        seen[next] = true;
                        stack.push((next, 0));
                    }
                }
                None => {
                    finished.push(node);
                    stack.pop();
                }
            }
        }
    }

    let mut component = vec![usize::MAX; nodes];
    let mut pending = Vec::new();
    for (id, &root) in finished.iter().rev().enumerate() {
        if component[root] != usize::MAX {
            continue;
        }
        component[root] = id;
        pending.push(root);
        while let Some(node) = pending.pop() {
            for &next in backward.of(node) {
                if component[next] == usize::MAX {
                    component[next] = id;
                    pending.push(next);
                }
            }
        }
    }
    component
}

/// Edge lists in one vector: node `n`'s targets are `targets[starts[n]..starts[n + 1]]`.
struct Adjacency {
    starts: Vec<usize>,
    targets: Vec<usize>,
}

impl Adjacency {
    fn of(&self, node: usize) -> &[usize] {
        &self.targets[self.starts[node]..self.starts[node + 1]]
    }
}

fn adjacency(nodes: usize, edges: impl Iterator<Item = (usize, usize)> + Clone) -> Adjacency {
    let mut starts = vec![0; nodes + 1];
    for (from, _) in edges.clone() {
        starts[from + 1] += 1;
    }
    for n in 0..nodes {
        starts[n + 1] += starts[n];
    }
    let mut fill = starts.clone();
    let mut targets = vec![0; starts[nodes]];
    for (from, to) in edges {
        targets[fill[from]] = to;
        fill[from] += 1;
    }
    Adjacency { starts, targets }
}

#[cfg(test)]
mod tests {
    use super::components;

    #[test]
    fn components_join_exactly_the_nodes_on_a_common_cycle() {
        // 0 -> 1 -> 2 -> 0 is a cycle; 2 -> 3 -> 4 -> 3 another; 5 stands alone.
        let c = components(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 3), (5, 5)]);
        assert!(c[0] == c[1] && c[1] == c[2]);
        assert!(c[3] == c[4] && c[3] != c[0]);
        assert!(c[5] != c[0] && c[5] != c[3]);
    }

    /// Whether `goal` can be reached from `start`: the search per relation this replaced.
    fn reaches(edges: &[(usize, usize)], start: usize, goal: usize) -> bool {
        let (mut stack, mut seen) = (vec![start], vec![start]);
        while let Some(node) = stack.pop() {
            if node == goal {
                return true;
            }
            for &(_, next) in edges.iter().filter(|(from, _)| *from == node) {
                if !seen.contains(&next) {
                    seen.push(next);
                    stack.push(next);
                }
            }
        }
        false
    }

    #[test]
    fn an_edge_closes_a_cycle_exactly_when_its_end_reaches_its_start() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..300 {
            let nodes = 1 + random(12);
            let edges: Vec<(usize, usize)> = (0..random(3 * nodes)).map(|_| (random(nodes), random(nodes))).collect();
            let c = components(nodes, &edges);
            for &(from, to) in edges.iter().filter(|(a, b)| a != b) {
                assert_eq!(c[from] == c[to], reaches(&edges, to, from), "{edges:?}");
            }
        }
    }
}
