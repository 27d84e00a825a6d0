"""Policy as data: schema and store of the policy files, and the rule language (parser,
interpreter with trace, DuckDB SQL compiler; see docs/development/rule-language.md)."""

from jingzhun.policy.compiler import compile_sql
from jingzhun.policy.interpreter import Facts, MemberRef, QuantifierTrace, Result, Trace, evaluate
from jingzhun.policy.lang import Node, RuleError, parse

__all__ = [
    "Facts",
    "MemberRef",
    "Node",
    "QuantifierTrace",
    "Result",
    "RuleError",
    "Trace",
    "compile_sql",
    "evaluate",
    "parse",
]
