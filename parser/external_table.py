"""`CREATE [OR REPLACE] EXTERNAL TABLE` — parsed here, not by sqlglot.

    CREATE [OR REPLACE] EXTERNAL TABLE [IF NOT EXISTS] name [(col type, ...)]
      STORED AS PARQUET|CSV|JSON [PARTITIONED BY (col [type], ...)] LOCATION 'uri'
      [OPTIONS ('key' 'value', ...)]

sqlglot falls back to an opaque Command for the column list and PARTITIONED
BY, so this module walks sqlglot's tokens itself and returns an
`ExternalTableStatement` (a sqlglot Expression holding plain values).
The clauses after the name may come in any order.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import NotSupportedError, ParseError
from .literals import TypeNotSupported, arrow_type


class ExternalTableStatement(exp.Expression):
    """args: name (str), columns (tuple of (name, pa type)), location (str),
    partitioned_by (tuple of (name, pa type | None)), if_not_exists,
    or_replace (bool), options (tuple of (key, value)), file_format ("parquet",
    "csv" or "json")."""
    arg_types = {"name": True, "columns": False, "location": True, "file_format": False,
                 "partitioned_by": False, "if_not_exists": False,
                 "or_replace": False, "options": False}


class _Tokens:
    def __init__(self, text: str, tokens: list[Token]):
        self.text, self.tokens, self.i = text, tokens, 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, k: int = 0) -> str:
        t = self.peek(k)
        return t.text.upper() if t is not None and t.token_type != TokenType.STRING else ""

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.peek() or (self.tokens[-1] if self.tokens else None)
        if tok is None:
            return ParseError(message, self.text)
        if self.peek() is None:
            message += " at end of input"
        elif tok is self.peek():
            message += f" near '{tok.text}'"
        return ParseError(message, self.text, tok.line,
                          max(tok.col - len(tok.text) + 1, 1))

    def accept(self, *words: str) -> bool:
        if len(words) > 1 and " ".join(self.word().split()) == " ".join(words):
            self.i += 1   # the tokenizer keeps some keyword pairs as one token
            return True
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(f"expected {' '.join(words)}")

    def expect_type(self, tt: TokenType, what: str) -> Token:
        tok = self.peek()
        if tok is None or tok.token_type != tt:
            raise self.error(f"expected {what}")
        self.i += 1
        return tok

    def identifier(self, what: str) -> str:
        tok = self.peek()
        if tok is None or tok.token_type in (TokenType.STRING, TokenType.L_PAREN,
                                             TokenType.R_PAREN, TokenType.COMMA,
                                             TokenType.NUMBER):
            raise self.error(f"expected {what}")
        self.i += 1
        quoted = tok.token_type == TokenType.IDENTIFIER
        return tok.text if quoted else tok.text.lower()

    def qualified_name(self) -> str:
        parts = [self.identifier("a table name")]
        while self.peek() is not None and self.peek().token_type == TokenType.DOT:
            self.i += 1
            parts.append(self.identifier("a name"))
        return ".".join(parts)

    def string(self, what: str) -> str:
        return self.expect_type(TokenType.STRING, what).text


def parse_external_table(text: str, start: int) -> ExternalTableStatement:
    """Parse the statement starting at offset `start` of `text`."""
    try:
            # the text before `start` is blank, so lines and columns are the user's
        tokens = Dialect.get_or_raise("duckdb").tokenize(text)
    except TokenError as e:
        raise ParseError(f"cannot tokenize: {e}", text) from None
    p = _Tokens(text, tokens)
    p.expect("CREATE")
    or_replace = p.accept("OR", "REPLACE")
    p.expect("EXTERNAL")
    p.expect("TABLE")
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    name = p.qualified_name()
    columns: tuple = ()
    if p.peek() is not None and p.peek().token_type == TokenType.L_PAREN:
        columns = tuple(_column_list(p, types_required=True))
    location = None
    stored = None
    partitioned_by: tuple = ()
    options: tuple = ()
    while p.peek() is not None:
        if p.accept("STORED", "AS"):
            fmt = p.identifier("a file format")
            if fmt.upper() not in ("PARQUET", "CSV", "JSON"):
                raise NotSupportedError(f"STORED AS {fmt.upper()}: only PARQUET, CSV and "
                                        f"JSON are supported")
            stored = fmt.lower()
        elif p.accept("PARTITIONED", "BY"):
            partitioned_by = tuple(_column_list(p, types_required=False))
        elif p.accept("LOCATION"):
            location = p.string("a quoted location")
        elif p.accept("OPTIONS"):
            options = tuple(_options(p))
        elif p.peek().token_type == TokenType.SEMICOLON:
            p.i += 1
        else:
            raise p.error("unexpected text in CREATE EXTERNAL TABLE")
    if stored is None:
        raise p.error("expected STORED AS PARQUET")
    if location is None:
        raise p.error("expected LOCATION 'uri'")
    return ExternalTableStatement(name=name, columns=columns, location=location,
                                  partitioned_by=partitioned_by,
                                  if_not_exists=if_not_exists, or_replace=or_replace,
                                  options=options, file_format=stored)


def _column_list(p: _Tokens, types_required: bool):
    p.expect_type(TokenType.L_PAREN, "(")
    out = []
    while True:
        name = p.identifier("a column name")
        type_tokens: list[Token] = []
        depth = 0
        while p.peek() is not None:
            tt = p.peek().token_type
            if depth == 0 and tt in (TokenType.COMMA, TokenType.R_PAREN):
                break
            depth += (tt == TokenType.L_PAREN) - (tt == TokenType.R_PAREN)
            type_tokens.append(p.peek())
            p.i += 1
        if not type_tokens:
            if types_required:
                raise p.error(f"expected a type for column {name}")
            out.append((name, None))
        else:
            first, last = type_tokens[0], type_tokens[-1]
            type_text = p.text[first.start:last.end + 1]
            try:
                dtype = arrow_type(exp.DataType.build(type_text, dialect="duckdb"))
            except (SqlglotParseError, ValueError, TypeNotSupported):
                raise p.error(f"unknown type {type_text}", first) from None
            out.append((name, dtype))
        if p.peek() is not None and p.peek().token_type == TokenType.COMMA:
            p.i += 1
            continue
        p.expect_type(TokenType.R_PAREN, ", or )")
        return out


def _options(p: _Tokens):
    p.expect_type(TokenType.L_PAREN, "(")
    out = []
    while True:
        tok = p.peek()
        key = p.string("an option name") if tok is not None and tok.token_type == TokenType.STRING \
            else p.identifier("an option name")
        if p.peek() is not None and p.peek().token_type == TokenType.EQ:
            p.i += 1
        tok = p.peek()
        if tok is None:
            raise p.error("expected an option value")
        p.i += 1
        out.append((key, tok.text))
        if p.peek() is not None and p.peek().token_type == TokenType.COMMA:
            p.i += 1
            continue
        p.expect_type(TokenType.R_PAREN, ", or )")
        return out
