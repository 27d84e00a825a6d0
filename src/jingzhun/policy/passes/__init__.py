"""Optimisation passes of the rule compiler (policy/compiler.py), switched on by `Passes`.

Each pass rewrites one construct of the plain compiler's SQL into a faster form that has the same
value for every row, states in its docstring why it cannot change a result, and is switched off
and on by policy/tests/test_passes.py, which compares the decisions of every standard in
policies/standards with and without it on generated registries (missing values included).

- age_cutoffs: `age_on(d, 'MM-DD') <op> k` as comparisons of d with birth-date cut-offs;
- hoisting: member quantifiers as columns of one grouped pass over the members (MemberAggregates);
- member_flags: with hoisting, the "some member" tests as packed bits of one bit_or
  (PackedMemberAggregates);
- engine_settings: DuckDB settings for the one statement that evaluates (perfect hash grouping).
"""
