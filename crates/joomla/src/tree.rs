//! Joomla's group tree (`#__usergroups.parent_id`) and the rule that turns a user's groups into
//! the groups they count as a member of.

use std::collections::{BTreeSet, HashMap};

/// A row of `#__usergroups`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoomlaGroup {
    pub id: i64,
    /// 0 for the root ("Public").
    pub parent_id: i64,
    pub title: String,
}

/// How a user's Joomla groups qualify them for a package group that names group G.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupRule {
    /// Joomla's own authorised-groups rule: a member of G or of any group below G.
    #[default]
    Tree,
    /// A member of G itself only.
    Direct,
}

impl GroupRule {
    pub fn parse(s: &str) -> Option<GroupRule> {
        match s.trim() {
            "tree" => Some(GroupRule::Tree),
            "direct" => Some(GroupRule::Direct),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRule::Tree => "tree",
            GroupRule::Direct => "direct",
        }
    }
}

/// The parent links of a site's groups. A damaged tree (a loop, a missing parent) ends the walk
/// where it breaks rather than looping.
#[derive(Clone, Debug, Default)]
pub struct GroupTree {
    parent: HashMap<i64, i64>,
}

impl GroupTree {
    pub fn new(groups: &[JoomlaGroup]) -> Self {
        GroupTree {
            parent: groups.iter().map(|g| (g.id, g.parent_id)).collect(),
        }
    }

    /// `group` and every group above it.
    pub fn with_ancestors(&self, group: i64) -> Vec<i64> {
        let mut chain = vec![group];
        let mut at = group;
        while let Some(&up) = self.parent.get(&at) {
            if up == 0 || chain.contains(&up) {
                break;
            }
            chain.push(up);
            at = up;
        }
        chain
    }

    /// The groups a member of `group` counts as a member of, under `rule`.
    pub fn counted(&self, rule: GroupRule, group: i64) -> Vec<i64> {
        match rule {
            GroupRule::Tree => self.with_ancestors(group),
            GroupRule::Direct => vec![group],
        }
    }

    /// The groups whose members count as members of one of `wanted`, under `rule`: those
    /// groups and, for the tree rule, every group below them.
    pub fn qualifying(&self, rule: GroupRule, wanted: &BTreeSet<i64>) -> BTreeSet<i64> {
        let mut out: BTreeSet<i64> = wanted.clone();
        if rule == GroupRule::Tree {
            for &g in self.parent.keys() {
                if self.with_ancestors(g).iter().any(|a| wanted.contains(a)) {
                    out.insert(g);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: i64, parent_id: i64) -> JoomlaGroup {
        JoomlaGroup {
            id,
            parent_id,
            title: format!("g{id}"),
        }
    }

    /// Joomla's default tree plus a subscriber branch: 1 Public > 2 Registered > 9 Subscribers
    /// > 12 Enterprise > 13 Enterprise EU; 1 > 10 Other.
    fn tree() -> GroupTree {
        GroupTree::new(&[g(1, 0), g(2, 1), g(9, 2), g(12, 9), g(13, 12), g(10, 1)])
    }

    #[test]
    fn ancestors_follow_the_tree_to_the_root() {
        assert_eq!(tree().with_ancestors(13), vec![13, 12, 9, 2, 1]);
        assert_eq!(tree().with_ancestors(1), vec![1]);
        assert_eq!(tree().with_ancestors(99), vec![99]);
        assert_eq!(tree().counted(GroupRule::Direct, 13), vec![13]);
    }

    #[test]
    fn qualifying_groups_are_the_wanted_ones_and_below() {
        let wanted = BTreeSet::from([12]);
        assert_eq!(
            tree().qualifying(GroupRule::Tree, &wanted),
            BTreeSet::from([12, 13])
        );
        assert_eq!(
            tree().qualifying(GroupRule::Direct, &wanted),
            BTreeSet::from([12])
        );
        assert_eq!(
            tree().qualifying(GroupRule::Tree, &BTreeSet::from([9, 10])),
            BTreeSet::from([9, 10, 12, 13])
        );
    }

    #[test]
    fn a_loop_in_a_damaged_tree_ends() {
        let looped = GroupTree::new(&[g(5, 6), g(6, 7), g(7, 5)]);
        assert_eq!(looped.with_ancestors(5), vec![5, 6, 7]);
        let q = looped.qualifying(GroupRule::Tree, &BTreeSet::from([7]));
        assert_eq!(q, BTreeSet::from([5, 6, 7]));
    }

    #[test]
    fn rules_parse() {
        for r in [GroupRule::Tree, GroupRule::Direct] {
            assert_eq!(GroupRule::parse(r.as_str()), Some(r));
        }
        assert_eq!(GroupRule::parse("nested"), None);
    }
}
