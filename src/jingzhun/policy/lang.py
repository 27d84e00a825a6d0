"""The rule language: tokenizer and recursive-descent parser producing a frozen AST.

See docs/development/rule-language.md. Pure Python, no eval/exec: the text is only ever turned
into the dataclasses below, which the interpreter and the SQL compiler walk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "FUNCTIONS",
    "Between",
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "InList",
    "IsNull",
    "Literal",
    "Name",
    "Neg",
    "Node",
    "Not",
    "RuleError",
    "parse",
]

NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")

# Functions and their accepted argument counts (min, max); None = unbounded.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "count": (1, 2),
    "any": (2, 2),
    "all": (2, 2),
    "sum": (2, 2),
    "age_on": (2, 2),
    "coalesce": (1, None),
    "is_known": (1, 1),
}
QUANTIFIERS = frozenset({"count", "any", "all", "sum"})
KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "null", "true", "false"})


class RuleError(Exception):
    """A rule that cannot be parsed, resolved or evaluated. `message` is Chinese."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        text = message if position is None else f"{message}（位置 {position}）"
        super().__init__(text)


# --- AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Decimal | str | bool | None
    pos: int = 0


@dataclass(frozen=True)
class Name:
    parts: tuple[str, ...]
    pos: int = 0

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class Neg:
    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class InList:
    operand: Node
    items: tuple[Literal, ...]
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Between:
    operand: Node
    low: Node
    high: Node
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class IsNull:
    operand: Node
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    pos: int = 0


Node = Literal | Name | Not | Neg | BoolOp | Binary | Compare | InList | Between | IsNull | Call


# --- Tokenizer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # NUM STR NAME OP EOF
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'[^'\n]*'|"[^"\n]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|,|\.)
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "'\"":
                raise RuleError("字符串没有结束引号", pos)
            raise RuleError(f"无法识别的字符 {ch!r}", pos)
        kind = m.lastgroup
        assert kind is not None
        if kind == "name" and not NAME_RE.fullmatch(m.group()):
            raise RuleError(f"名称 {m.group()!r} 只能使用小写字母、数字和下划线", pos)
        if kind != "ws":
            tokens.append(Token(kind.upper(), m.group(), pos))
        pos = m.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens


# --- Parser ----------------------------------------------------------------------------------

_CMP_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_kw(self, word: str) -> bool:
        return self.at("NAME", word)

    def advance(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, kind: str, text: str, what: str) -> Token:
        if not self.at(kind, text):
            raise RuleError(f"此处应为 {what}，实际为 {self._describe()}", self.tok.pos)
        return self.advance()

    def _describe(self) -> str:
        t = self.tok
        return "表达式结尾" if t.kind == "EOF" else repr(t.text)

    def parse(self) -> Node:
        if self.at("EOF"):
            raise RuleError("表达式为空", 0)
        node = self.or_expr()
        if not self.at("EOF"):
            raise RuleError(f"多余的内容 {self._describe()}", self.tok.pos)
        return node

    def or_expr(self) -> Node:
        pos = self.tok.pos
        operands = [self.and_expr()]
        while self.at_kw("or"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands), pos)

    def and_expr(self) -> Node:
        pos = self.tok.pos
        operands = [self.not_expr()]
        while self.at_kw("and"):
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands), pos)

    def not_expr(self) -> Node:
        if self.at_kw("not"):
            pos = self.advance().pos
            return Not(self.not_expr(), pos)
        return self.cmp()

    def cmp(self) -> Node:
        left = self.sum_()
        t = self.tok
        if t.kind == "OP" and t.text in _CMP_OPS:
            self.advance()
            return Compare(t.text, left, self.sum_(), t.pos)
        negated = False
        if self.at_kw("not"):
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "NAME" and nxt.text in ("in", "between"):
                self.advance()
                negated = True
            else:
                raise RuleError("“not” 之后应为 in 或 between", self.tokens[self.i + 1].pos)
        if self.at_kw("in"):
            self.advance()
            self.expect("OP", "(", "“(”")
            items = [self.literal()]
            while self.at("OP", ","):
                self.advance()
                items.append(self.literal())
            self.expect("OP", ")", "“)”")
            return InList(left, tuple(items), negated, t.pos)
        if self.at_kw("between"):
            self.advance()
            low = self.sum_()
            if not self.at_kw("and"):
                raise RuleError("between 之后应为 “… and …”", self.tok.pos)
            self.advance()
            high = self.sum_()
            return Between(left, low, high, negated, t.pos)
        if self.at_kw("is"):
            self.advance()
            neg = False
            if self.at_kw("not"):
                self.advance()
                neg = True
            if not self.at_kw("null"):
                raise RuleError("is 之后应为 null 或 not null", self.tok.pos)
            self.advance()
            return IsNull(left, neg, t.pos)
        return left

    def sum_(self) -> Node:
        node = self.product()
        while self.tok.kind == "OP" and self.tok.text in ("+", "-"):
            t = self.advance()
            node = Binary(t.text, node, self.product(), t.pos)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.text in ("*", "/"):
            t = self.advance()
            node = Binary(t.text, node, self.unary(), t.pos)
        return node

    def unary(self) -> Node:
        if self.at("OP", "-"):
            pos = self.advance().pos
            return Neg(self.unary(), pos)
        return self.atom()

    def literal(self) -> Literal:
        t = self.tok
        if t.kind == "NUM":
            self.advance()
            return Literal(_number(t), t.pos)
        if t.kind == "OP" and t.text == "-" and self.tokens[self.i + 1].kind == "NUM":
            self.advance()
            num = self.advance()
            return Literal(-_number(num), t.pos)
        if t.kind == "STR":
            self.advance()
            return Literal(t.text[1:-1], t.pos)
        if t.kind == "NAME" and t.text in ("true", "false", "null"):
            self.advance()
            value = {"true": True, "false": False, "null": None}[t.text]
            return Literal(value, t.pos)
        raise RuleError(
            f"此处应为常量（数字、字符串、true、false 或 null），实际为 {self._describe()}", t.pos
        )

    def atom(self) -> Node:
        t = self.tok
        if t.kind in ("NUM", "STR") or (t.kind == "NAME" and t.text in ("true", "false", "null")):
            return self.literal()
        if t.kind == "OP" and t.text == "(":
            self.advance()
            node = self.or_expr()
            self.expect("OP", ")", "“)”")
            return node
        if t.kind == "NAME":
            if t.text in KEYWORDS:
                raise RuleError(f"关键字 {t.text!r} 不能出现在这里", t.pos)
            self.advance()
            if self.at("OP", "("):
                return self.call(t)
            parts = [t.text]
            while self.at("OP", "."):
                self.advance()
                part = self.tok
                if part.kind != "NAME" or part.text in KEYWORDS:
                    raise RuleError("“.” 之后应为名称", part.pos)
                self.advance()
                parts.append(part.text)
            return Name(tuple(parts), t.pos)
        raise RuleError(f"此处应为表达式，实际为 {self._describe()}", t.pos)

    def call(self, name: Token) -> Call:
        if name.text not in FUNCTIONS:
            raise RuleError(f"未知函数 {name.text!r}", name.pos)
        self.expect("OP", "(", "“(”")
        args: list[Node] = []
        if not self.at("OP", ")"):
            args.append(self.or_expr())
            while self.at("OP", ","):
                self.advance()
                args.append(self.or_expr())
        self.expect("OP", ")", "“)”")
        lo, hi = FUNCTIONS[name.text]
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise RuleError(f"函数 {name.text} 的参数个数不对（{len(args)} 个）", name.pos)
        if name.text in QUANTIFIERS:
            first = args[0]
            if not (isinstance(first, Name) and first.parts == ("members",)):
                raise RuleError(f"函数 {name.text} 的第一个参数必须是 members", name.pos)
        return Call(name.text, tuple(args), name.pos)


def _number(t: Token) -> Decimal:
    try:
        return Decimal(t.text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise RuleError(f"无效数字 {t.text!r}", t.pos) from exc


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse one expression; raises RuleError (with position) on any error.

    Kept per process (the trees are immutable): the household card decides a household against
    the policy's criteria on every request, and parsed the same dozen texts each time."""
    return _Parser(text).parse()
