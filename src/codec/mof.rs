//! MOF instance text (DSP0004 `instance of`): a small hand-written lexer and parser, and the
//! encoder.
//!
//! Accepted: one `instance of Class [as $Alias] { Name = value; ... };` with optional
//! qualifier lists (`[...]`, skipped) before the declaration and before each property, `//`
//! and `/* */` comments, adjacent string literals (concatenated), and these initializers:
//! string, char (`'c'`), integer (decimal, `0x` hex, `0` octal, `b` binary; optional sign),
//! real (`[+-] digits . digits [e [+-] digits]`, plus `INF`, `-INF` and `NaN`), `TRUE`,
//! `FALSE`, `NULL`, and `{...}` arrays of those. Refused: alias references, embedded
//! `instance of` values, nested arrays, and anything after the closing `};` but comments.
//!
//! **Typing.** MOF instance text does not carry the declared CIM types, so decoding types
//! each property by the form of its literal:
//!
//! | literal                 | type      | text kept                                |
//! |-------------------------|-----------|------------------------------------------|
//! | `"..."`                 | `string`  | the decoded string                       |
//! | `'c'`                   | `char16`  | the character                            |
//! | integer ≥ 0             | `uint64`  | canonical decimal (`0x1F` → `31`)        |
//! | integer < 0             | `sint64`  | canonical decimal                        |
//! | real, `INF`, `NaN`      | `real64`  | as written (`INF`/`-INF`/`NaN` canonical)|
//! | `TRUE` / `FALSE`        | `boolean` | `TRUE` / `FALSE`                         |
//! | `NULL`                  | `string`  | NULL, scalar                             |
//! | `{...}`                 | array of the elements' type; `sint64` if any integer is negative, `real64` if any element is real; `string` when empty or all `NULL` |
//!
//! **Beyond DSP0004.** MOF has no literal for infinities and NaN, and its grammar wants at
//! least one property in an `instance of` body. The encoder writes `INF`, `-INF` and `NaN`
//! (as pywbem's `tomof()` writes `inf`, `-inf`, `nan`) and `{ }` for an instance without
//! properties; the decoder reads all of these (any case). Other MOF readers may not: pywbem's
//! compiler takes `INF` and `NaN` only as scalars, and neither `-INF` nor an empty body.
//!
//! The integer accessors ([`Instance::unsigned`](super::Instance::unsigned)) accept every
//! integer type, so a `uint16` property read back from MOF as `uint64` still reads. The
//! round trip `decode(&encode(i, Encoding::Mof))` yields [`mof_normal_form`]`(i)` for every
//! valid instance `i`.

use std::borrow::Cow;
use std::collections::HashSet;

use super::error::{CodecError, Position};
use super::instance::{CimType, Instance, Property, PropertyValue};
use super::lexical;
use super::Limits;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Char(char),
    Int { negative: bool, magnitude: u128 },
    Real(String),
    Punct(char),
    Alias(String),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {s:?}"),
            Tok::Str(_) => "a string literal".into(),
            Tok::Char(_) => "a char literal".into(),
            Tok::Int { .. } => "an integer literal".into(),
            Tok::Real(_) => "a real literal".into(),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Alias(a) => format!("alias ${a}"),
            Tok::Eof => "the end of the text".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
    column: usize,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
    limits: &'a Limits,
}

fn mof_error(line: usize, column: usize, message: impl Into<String>) -> CodecError {
    CodecError::Mof {
        line,
        column,
        message: message.into(),
    }
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn peek2(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().nth(1))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>) -> CodecError {
        mof_error(self.line, self.column, message)
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), CodecError> {
        loop {
            match (self.peek(), self.peek2()) {
                // MOF whitespace is ASCII; a byte-order mark is skipped only at the very start
                // (elsewhere U+FEFF is an identifier character, as DSP0004 defines them).
                (Some(c), _) if c.is_ascii_whitespace() || (c == '\u{FEFF}' && self.pos == 0) => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Some('/'), Some('*')) => {
                    let (line, column) = (self.line, self.column);
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                            None => return Err(mof_error(line, column, "unterminated /* comment")),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, CodecError> {
        self.skip_trivia()?;
        let (line, column) = (self.line, self.column);
        let token = |tok| Token { tok, line, column };
        let Some(c) = self.peek() else {
            return Ok(token(Tok::Eof));
        };
        let tok = match c {
            '"' => Tok::Str(self.string_literal()?),
            '\'' => Tok::Char(self.char_literal()?),
            '$' => {
                self.bump();
                match self.peek() {
                    Some(c) if lexical::is_identifier_start(c) => Tok::Alias(self.identifier()),
                    _ => return Err(self.error("'$' must start an alias name")),
                }
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ',' | ';' | '=' | ':' => {
                self.bump();
                Tok::Punct(c)
            }
            '+' | '-' => {
                self.bump();
                match self.peek() {
                    Some(d) if d.is_ascii_digit() || d == '.' => self.number(c == '-', Some(c))?,
                    Some(i) if lexical::is_identifier_start(i) => {
                        let word = self.identifier();
                        if word.eq_ignore_ascii_case("INF") {
                            Tok::Real(if c == '-' { "-INF" } else { "INF" }.into())
                        } else {
                            return Err(mof_error(
                                line,
                                column,
                                format!("'{c}' must start a number, not {word:?}"),
                            ));
                        }
                    }
                    _ => {
                        return Err(mof_error(
                            line,
                            column,
                            format!("'{c}' must start a number"),
                        ))
                    }
                }
            }
            d if d.is_ascii_digit() => self.number(false, None)?,
            '.' if self.peek2().is_some_and(|d| d.is_ascii_digit()) => self.number(false, None)?,
            c if lexical::is_identifier_start(c) => Tok::Ident(self.identifier()),
            other => {
                return Err(self.error(format!(
                    "unexpected character {other:?} (U+{:04X})",
                    u32::from(other)
                )))
            }
        };
        Ok(token(tok))
    }

    fn identifier(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if lexical::is_identifier_start(c) || c.is_ascii_digit() {
                word.push(c);
                self.bump();
            } else {
                break;
            }
        }
        word
    }

    fn number(&mut self, negative: bool, sign: Option<char>) -> Result<Tok, CodecError> {
        let (line, column) = (self.line, self.column);
        let mut run = String::new();
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '+' | '-')
                && run.ends_with(['e', 'E'])
                && !run.starts_with("0x")
                && !run.starts_with("0X");
            if c.is_ascii_alphanumeric() || c == '.' || exponent_sign {
                run.push(c);
                self.bump();
            } else {
                break;
            }
        }
        let bad = |what: &str| mof_error(line, column, format!("malformed {what} literal {run:?}"));
        let magnitude = |digits: &str, radix: u32, what: &str| -> Result<u128, CodecError> {
            if digits.is_empty() {
                return Err(bad(what));
            }
            digits.chars().try_fold(0u128, |acc, c| {
                let d = c.to_digit(radix).ok_or_else(|| bad(what))?;
                acc.checked_mul(u128::from(radix))
                    .and_then(|v| v.checked_add(u128::from(d)))
                    .ok_or_else(|| {
                        mof_error(
                            line,
                            column,
                            format!("integer literal {run:?} is out of range"),
                        )
                    })
            })
        };
        let int = |magnitude: u128| Tok::Int {
            negative,
            magnitude,
        };
        if let Some(hex) = run.strip_prefix("0x").or_else(|| run.strip_prefix("0X")) {
            return Ok(int(magnitude(hex, 16, "hexadecimal")?));
        }
        if let Some(bits) = run.strip_suffix(['b', 'B']) {
            return Ok(int(magnitude(bits, 2, "binary")?));
        }
        if run.contains(['.', 'e', 'E']) {
            if lexical::is_decimal_real(&run) {
                let mut text = String::new();
                text.extend(sign);
                text.push_str(&run);
                if lexical::check_real(CimType::Real64, &text).is_err() {
                    return Err(mof_error(
                        line,
                        column,
                        format!("real literal {text:?} is out of the range of real64"),
                    ));
                }
                return Ok(Tok::Real(text));
            }
            return Err(bad("real"));
        }
        if run.len() > 1 && run.starts_with('0') {
            return Ok(int(magnitude(run.get(1..).unwrap_or(""), 8, "octal")?));
        }
        Ok(int(magnitude(&run, 10, "decimal")?))
    }

    /// One escape sequence after a backslash (DSP0004): `\b \t \n \f \r \" \' \\` and
    /// `\x` / `\X` with one to four hexadecimal digits.
    fn escape(&mut self) -> Result<char, CodecError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let c = self
            .bump()
            .ok_or_else(|| self.error("unterminated escape sequence"))?;
        Ok(match c {
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{C}',
            'r' => '\r',
            '"' => '"',
            '\'' => '\'',
            '\\' => '\\',
            'x' | 'X' => {
                let mut code = 0u32;
                let mut digits = 0;
                while digits < 4 {
                    match self.peek().and_then(|h| h.to_digit(16)) {
                        Some(d) => {
                            code = code * 16 + d;
                            digits += 1;
                            self.bump();
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    return Err(mof_error(
                        line,
                        column,
                        "\\x needs one to four hexadecimal digits",
                    ));
                }
                char::from_u32(code).ok_or_else(|| {
                    mof_error(
                        line,
                        column,
                        format!("\\x{code:04X} is a surrogate, not a character"),
                    )
                })?
            }
            other => {
                return Err(mof_error(
                    line,
                    column,
                    format!("unknown escape sequence \\{other}"),
                ))
            }
        })
    }

    fn string_literal(&mut self) -> Result<String, CodecError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.bump();
                    return Ok(value);
                }
                Some('\\') => value.push(self.escape()?),
                Some('\n' | '\r') | None => {
                    return Err(mof_error(line, column, "unterminated string literal"))
                }
                Some(c) => {
                    value.push(c);
                    self.bump();
                }
            }
            if value.len() > self.limits.max_value_bytes {
                return Err(CodecError::ValueTooLarge {
                    owner: "a string literal".into(),
                    limit: self.limits.max_value_bytes,
                    position: Position::LineColumn { line, column },
                });
            }
        }
    }

    fn char_literal(&mut self) -> Result<char, CodecError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let c = match self.peek() {
            Some('\\') => self.escape()?,
            Some(c) if c != '\'' && c != '\n' && c != '\r' => {
                self.bump();
                c
            }
            _ => {
                return Err(mof_error(
                    line,
                    column,
                    "a char literal holds exactly one character",
                ))
            }
        };
        if self.bump() != Some('\'') {
            return Err(mof_error(
                line,
                column,
                "a char literal holds exactly one character",
            ));
        }
        if u32::from(c) > 0xFFFF {
            return Err(mof_error(
                line,
                column,
                "a char16 must be in the Basic Multilingual Plane",
            ));
        }
        Ok(c)
    }
}

/// One initializer element.
enum Lit {
    Str(String),
    Char(char),
    Bool(bool),
    Int { negative: bool, magnitude: u128 },
    Real(String),
    Null,
}

impl Lit {
    fn kind(&self) -> &'static str {
        match self {
            Lit::Str(_) => "string",
            Lit::Char(_) => "char",
            Lit::Bool(_) => "boolean",
            Lit::Int { .. } => "integer",
            Lit::Real(_) => "real",
            Lit::Null => "NULL",
        }
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    limits: &'a Limits,
}

/// Decodes one MOF `instance of` declaration.
pub(crate) fn decode(text: &str, limits: &Limits) -> Result<Instance, CodecError> {
    let mut parser = Parser {
        lexer: Lexer {
            src: text,
            pos: 0,
            line: 1,
            column: 1,
            limits,
        },
        peeked: None,
        limits,
    };
    parser.instance()
}

fn int_value(
    negative: bool,
    magnitude: u128,
    line: usize,
    column: usize,
) -> Result<(CimType, String), CodecError> {
    if negative && magnitude > 0 {
        if magnitude > u128::from(i64::MIN.unsigned_abs()) {
            return Err(mof_error(
                line,
                column,
                format!("-{magnitude} is below the range of sint64"),
            ));
        }
        Ok((CimType::Sint64, format!("-{magnitude}")))
    } else {
        if magnitude > u128::from(u64::MAX) {
            return Err(mof_error(
                line,
                column,
                format!("{magnitude} is above the range of uint64"),
            ));
        }
        Ok((CimType::Uint64, magnitude.to_string()))
    }
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<&Token, CodecError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        match &self.peeked {
            Some(token) => Ok(token),
            None => Err(self.lexer.error("internal: no token")),
        }
    }

    fn next(&mut self) -> Result<Token, CodecError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn expect_punct(&mut self, punct: char, what: &str) -> Result<Token, CodecError> {
        let token = self.next()?;
        if token.tok == Tok::Punct(punct) {
            Ok(token)
        } else {
            Err(mof_error(
                token.line,
                token.column,
                format!("expected '{punct}' {what}, found {}", token.tok.describe()),
            ))
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), CodecError> {
        let token = self.next()?;
        match &token.tok {
            Tok::Ident(word) if word.eq_ignore_ascii_case(keyword) => Ok(()),
            other => Err(mof_error(
                token.line,
                token.column,
                format!("expected '{keyword}', found {}", other.describe()),
            )),
        }
    }

    /// Skips a bracketed qualifier list if one comes next.
    fn skip_qualifiers(&mut self, base_depth: usize) -> Result<(), CodecError> {
        if self.peek()?.tok != Tok::Punct('[') {
            return Ok(());
        }
        let mut stack: Vec<char> = Vec::new();
        loop {
            let token = self.next()?;
            match token.tok {
                Tok::Punct(open @ ('[' | '(' | '{')) => {
                    if base_depth + stack.len() >= self.limits.max_depth {
                        return Err(CodecError::TooDeep {
                            limit: self.limits.max_depth,
                            context: "a qualifier list".into(),
                            position: Position::LineColumn {
                                line: token.line,
                                column: token.column,
                            },
                        });
                    }
                    stack.push(match open {
                        '[' => ']',
                        '(' => ')',
                        _ => '}',
                    });
                }
                Tok::Punct(close @ (']' | ')' | '}')) => {
                    if stack.pop() != Some(close) {
                        return Err(mof_error(
                            token.line,
                            token.column,
                            format!("unbalanced '{close}' in a qualifier list"),
                        ));
                    }
                    if stack.is_empty() {
                        return Ok(());
                    }
                }
                Tok::Eof => {
                    return Err(mof_error(
                        token.line,
                        token.column,
                        "unterminated qualifier list",
                    ))
                }
                _ => {}
            }
        }
    }

    fn instance(&mut self) -> Result<Instance, CodecError> {
        if self.peek()?.tok == Tok::Eof {
            return Err(CodecError::Empty);
        }
        self.skip_qualifiers(0)?;
        self.expect_keyword("instance")?;
        self.expect_keyword("of")?;
        let token = self.next()?;
        let class_name = match token.tok {
            Tok::Ident(name) => name,
            other => {
                return Err(mof_error(
                    token.line,
                    token.column,
                    format!("expected a class name, found {}", other.describe()),
                ))
            }
        };
        if let Tok::Ident(word) = &self.peek()?.tok {
            if word.eq_ignore_ascii_case("as") {
                self.next()?;
                let token = self.next()?;
                if !matches!(token.tok, Tok::Alias(_)) {
                    return Err(mof_error(
                        token.line,
                        token.column,
                        "expected an alias ($Name) after 'as'",
                    ));
                }
            }
        }
        let open = self.expect_punct('{', "to open the instance body")?;
        if self.limits.max_depth == 0 {
            return Err(CodecError::TooDeep {
                limit: 0,
                context: "the instance body".into(),
                position: Position::LineColumn {
                    line: open.line,
                    column: open.column,
                },
            });
        }
        let mut properties: Vec<Property> = Vec::new();
        let mut seen = HashSet::new();
        loop {
            self.skip_qualifiers(1)?;
            let token = self.next()?;
            let name = match token.tok {
                Tok::Punct('}') => break,
                Tok::Ident(name) => name,
                other => {
                    return Err(mof_error(
                        token.line,
                        token.column,
                        format!(
                            "expected a property name or '}}', found {}",
                            other.describe()
                        ),
                    ))
                }
            };
            let position = Position::LineColumn {
                line: token.line,
                column: token.column,
            };
            if properties.len() >= self.limits.max_properties {
                return Err(CodecError::TooManyProperties {
                    limit: self.limits.max_properties,
                    property: name,
                    position,
                });
            }
            if !seen.insert(lexical::fold_name(&name)) {
                return Err(CodecError::DuplicateProperty { name, position });
            }
            self.expect_punct('=', &format!("after property name {name:?}"))?;
            let property = self.initializer(name)?;
            self.expect_punct(
                ';',
                &format!("after the value of property {:?}", property.name),
            )?;
            properties.push(property);
        }
        self.expect_punct(';', "after the instance body")?;
        let token = self.next()?;
        if token.tok != Tok::Eof {
            return Err(CodecError::TrailingContent {
                position: Position::LineColumn {
                    line: token.line,
                    column: token.column,
                },
            });
        }
        Ok(Instance {
            class_name,
            properties,
        })
    }

    fn literal(&mut self, property: &str) -> Result<(Lit, usize, usize), CodecError> {
        let token = self.next()?;
        let (line, column) = (token.line, token.column);
        let lit = match token.tok {
            Tok::Str(mut s) => {
                // Adjacent string literals concatenate.
                while matches!(self.peek()?.tok, Tok::Str(_)) {
                    if let Tok::Str(more) = self.next()?.tok {
                        if s.len() + more.len() > self.limits.max_value_bytes {
                            return Err(CodecError::ValueTooLarge {
                                owner: format!("property {property:?}"),
                                limit: self.limits.max_value_bytes,
                                position: Position::LineColumn { line, column },
                            });
                        }
                        s.push_str(&more);
                    }
                }
                Lit::Str(s)
            }
            Tok::Char(c) => Lit::Char(c),
            Tok::Int {
                negative,
                magnitude,
            } => Lit::Int {
                negative,
                magnitude,
            },
            Tok::Real(text) => Lit::Real(text),
            Tok::Ident(word) if word.eq_ignore_ascii_case("TRUE") => Lit::Bool(true),
            Tok::Ident(word) if word.eq_ignore_ascii_case("FALSE") => Lit::Bool(false),
            Tok::Ident(word) if word.eq_ignore_ascii_case("NULL") => Lit::Null,
            Tok::Ident(word) if word.eq_ignore_ascii_case("INF") => Lit::Real("INF".into()),
            Tok::Ident(word) if word.eq_ignore_ascii_case("NaN") => Lit::Real("NaN".into()),
            Tok::Ident(word) if word.eq_ignore_ascii_case("instance") => {
                return Err(mof_error(
                    line,
                    column,
                    format!("property {property:?}: embedded instances are not supported"),
                ))
            }
            Tok::Alias(alias) => {
                return Err(mof_error(
                    line,
                    column,
                    format!("property {property:?}: alias reference ${alias} is not supported"),
                ))
            }
            Tok::Punct('{') => {
                return Err(mof_error(
                    line,
                    column,
                    format!("property {property:?}: nested arrays are not allowed"),
                ))
            }
            other => {
                return Err(mof_error(
                    line,
                    column,
                    format!(
                        "property {property:?}: expected a value, found {}",
                        other.describe()
                    ),
                ))
            }
        };
        Ok((lit, line, column))
    }

    fn initializer(&mut self, name: String) -> Result<Property, CodecError> {
        let open = self.peek()?.clone();
        if open.tok != Tok::Punct('{') {
            let (lit, line, column) = self.literal(&name)?;
            let (cim_type, value) = match lit {
                Lit::Null => (CimType::String, PropertyValue::Null),
                Lit::Str(s) => (CimType::String, PropertyValue::Scalar(s)),
                Lit::Char(c) => (CimType::Char16, PropertyValue::Scalar(c.to_string())),
                Lit::Bool(b) => (CimType::Boolean, PropertyValue::Scalar(bool_text(b).into())),
                Lit::Real(text) => (CimType::Real64, PropertyValue::Scalar(text)),
                Lit::Int {
                    negative,
                    magnitude,
                } => {
                    let (t, text) = int_value(negative, magnitude, line, column)?;
                    (t, PropertyValue::Scalar(text))
                }
            };
            return Ok(Property {
                name,
                cim_type,
                is_array: false,
                value,
            });
        }
        self.next()?;
        let position = Position::LineColumn {
            line: open.line,
            column: open.column,
        };
        if self.limits.max_depth < 2 {
            return Err(CodecError::TooDeep {
                limit: self.limits.max_depth,
                context: format!("the array of property {name:?}"),
                position,
            });
        }
        // Elements are converted as they are read, so that an array costs its values and
        // nothing more. The element type is the one kind of the non-NULL elements (integers
        // and reals mix); whether an integer array is sint64 is known only at its end.
        let mut values: Vec<Option<String>> = Vec::new();
        let mut kind: Option<&'static str> = None;
        let mut any_negative = false;
        let mut above_sint64: Option<(String, usize, usize)> = None;
        if self.peek()?.tok == Tok::Punct('}') {
            self.next()?;
        } else {
            loop {
                if values.len() >= self.limits.max_array_len {
                    return Err(CodecError::ArrayTooLong {
                        owner: format!("property {name:?}"),
                        limit: self.limits.max_array_len,
                        position,
                    });
                }
                let (lit, line, column) = self.literal(&name)?;
                if !matches!(lit, Lit::Null) {
                    let k = lit.kind();
                    let numeric = |x: &str| x == "integer" || x == "real";
                    match kind {
                        None => kind = Some(k),
                        Some(prev) if prev == k => {}
                        Some(prev) if numeric(prev) && numeric(k) => kind = Some("real"),
                        Some(prev) => {
                            return Err(mof_error(
                                line,
                                column,
                                format!(
                                    "the array of property {name:?} mixes {prev} and {k} literals"
                                ),
                            ))
                        }
                    }
                }
                values.push(match lit {
                    Lit::Null => None,
                    Lit::Str(s) => Some(s),
                    Lit::Char(c) => Some(c.to_string()),
                    Lit::Bool(b) => Some(bool_text(b).to_string()),
                    Lit::Real(text) => Some(text),
                    Lit::Int {
                        negative,
                        magnitude,
                    } => {
                        let (_, text) = int_value(negative, magnitude, line, column)?;
                        if negative && magnitude > 0 {
                            any_negative = true;
                        } else if magnitude > u128::from(i64::MAX.unsigned_abs())
                            && above_sint64.is_none()
                        {
                            above_sint64 = Some((text.clone(), line, column));
                        }
                        Some(text)
                    }
                });
                let token = self.next()?;
                match token.tok {
                    Tok::Punct(',') => {}
                    Tok::Punct('}') => break,
                    other => {
                        return Err(mof_error(
                            token.line,
                            token.column,
                            format!(
                                "expected ',' or '}}' in the array of property {name:?}, found {}",
                                other.describe()
                            ),
                        ))
                    }
                }
            }
        }
        let cim_type = match kind {
            None | Some("string") => CimType::String,
            Some("char") => CimType::Char16,
            Some("boolean") => CimType::Boolean,
            Some("real") => CimType::Real64,
            _ if any_negative => CimType::Sint64,
            _ => CimType::Uint64,
        };
        if cim_type == CimType::Sint64 {
            if let Some((text, line, column)) = above_sint64 {
                return Err(mof_error(
                    line,
                    column,
                    format!("{text} does not fit the sint64 array of property {name:?}"),
                ));
            }
        }
        Ok(Property {
            name,
            cim_type,
            is_array: true,
            value: PropertyValue::Array(values),
        })
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn escape_char_into(out: &mut String, c: char, quote: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_control() || c == '\u{FEFF}' => out.push_str(&format!("\\x{:04X}", u32::from(c))),
        c => out.push(c),
    }
}

fn string_literal(out: &mut String, text: &str) {
    out.push('"');
    // Runs of printable ASCII other than `\` and `"` are copied whole; everything else is
    // decided per character by `escape_char_into`.
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], 0x20..=0x7E) && bytes[i] != b'\\' && bytes[i] != b'"' {
            i += 1;
            continue;
        }
        out.push_str(&text[start..i]);
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        escape_char_into(out, c, '"');
        i += c.len_utf8();
        start = i;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

fn invalid(out: &mut String, text: &str) {
    out.push_str("$invalid(");
    string_literal(out, text);
    out.push(')');
}

fn write_name(out: &mut String, name: &str) {
    if lexical::is_identifier(name) {
        out.push_str(name);
    } else {
        invalid(out, name);
    }
}

/// The MOF real literal for a valid real value's text: special values canonical, and a
/// decimal point added to a mantissa without one (`5` → `5.0`, `1e5` → `1.0e5`).
pub(crate) fn mof_real(text: &str) -> String {
    if lexical::is_special_real(text) {
        return if text.eq_ignore_ascii_case("NaN") {
            "NaN".into()
        } else if text.starts_with('-') {
            "-INF".into()
        } else {
            "INF".into()
        };
    }
    let split = text.find(['e', 'E']).unwrap_or(text.len());
    let (mantissa, exponent) = text.split_at(split);
    if mantissa.contains('.') {
        text.to_string()
    } else {
        format!("{mantissa}.0{exponent}")
    }
}

/// The text and type a valid scalar value of `cim_type` has after a MOF round trip, or `None`
/// when the text is not valid for the type.
fn normal_scalar(cim_type: CimType, text: &str) -> Option<(CimType, Cow<'_, str>)> {
    let trimmed = lexical::trim_xml_space(text);
    match cim_type {
        CimType::String | CimType::Datetime | CimType::Reference => {
            Some((CimType::String, Cow::Borrowed(text)))
        }
        CimType::Char16 => lexical::check_char16(text)
            .ok()
            .map(|()| (CimType::Char16, Cow::Borrowed(text))),
        CimType::Boolean => {
            lexical::parse_boolean(trimmed).map(|b| (CimType::Boolean, Cow::Borrowed(bool_text(b))))
        }
        CimType::Real32 | CimType::Real64 => lexical::check_real(cim_type, trimmed)
            .ok()
            .map(|()| (CimType::Real64, Cow::Owned(mof_real(trimmed)))),
        _ => lexical::check_integer(cim_type, trimmed).ok().map(|v| {
            let t = if v < 0 {
                CimType::Sint64
            } else {
                CimType::Uint64
            };
            // The canonical decimal form; the text itself when it already is that.
            let canonical = if trimmed == text && is_canonical_integer(text, v) {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(v.to_string())
            };
            (t, canonical)
        }),
    }
}

/// Whether `text` is exactly how `v.to_string()` writes `v`: decimal digits with no sign,
/// leading zero or space (a `-` before them when negative).
fn is_canonical_integer(text: &str, v: i128) -> bool {
    let digits = if v < 0 {
        text.strip_prefix('-').unwrap_or("")
    } else {
        text
    };
    let bytes = digits.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes.len() == 1 || bytes[0] != b'0')
        && !(v < 0 && bytes == b"0")
}

fn write_scalar(out: &mut String, cim_type: CimType, text: &str) {
    match (cim_type, normal_scalar(cim_type, text)) {
        (_, None) => invalid(out, text),
        (_, Some((CimType::String, t))) => string_literal(out, &t),
        (_, Some((CimType::Char16, t))) => {
            out.push('\'');
            for c in t.chars() {
                escape_char_into(out, c, '\'');
            }
            out.push('\'');
        }
        (_, Some((_, t))) => out.push_str(&t),
    }
}

/// Writes `instance` as MOF instance text.
pub(crate) fn encode(instance: &Instance) -> String {
    let mut out = String::from("instance of ");
    write_name(&mut out, &instance.class_name);
    out.push_str("\n{\n");
    for p in &instance.properties {
        out.push_str("    ");
        write_name(&mut out, &p.name);
        out.push_str(" = ");
        write_value(&mut out, p);
        out.push_str(";\n");
    }
    out.push_str("};\n");
    out
}

/// Writes `p`'s value as [`encode`] does.
pub(crate) fn write_value(out: &mut String, p: &Property) {
    match &p.value {
        PropertyValue::Null => out.push_str("NULL"),
        PropertyValue::Scalar(text) => write_scalar(out, p.cim_type, text),
        PropertyValue::Reference(text) => string_literal(out, text),
        PropertyValue::Array(items) => {
            out.push('{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match item {
                    Some(text) => write_scalar(out, p.cim_type, text),
                    None => out.push_str("NULL"),
                }
            }
            out.push('}');
        }
    }
}

/// The fixed text of [`encode`]'s output for `instance`'s shape (class and property names):
/// what comes before the first property, and what comes before and after each property's
/// value, which [`write_value`] writes.
pub(crate) fn frames(instance: &Instance) -> (String, Vec<(String, String)>, &'static str) {
    let mut head = String::from("instance of ");
    write_name(&mut head, &instance.class_name);
    head.push_str("\n{\n");
    let properties = instance
        .properties
        .iter()
        .map(|p| {
            let mut open = String::from("    ");
            write_name(&mut open, &p.name);
            open.push_str(" = ");
            (open, ";\n".to_string())
        })
        .collect();
    (head, properties, "};\n")
}

/// What `decode(&encode(instance, Encoding::Mof))` returns for a valid `instance`: the same
/// class and property names and order, with types and value texts as MOF typing gives them
/// (see the table in this module's documentation). For an invalid instance the result is
/// unspecified (decoding the MOF text may fail instead).
pub fn mof_normal_form(instance: &Instance) -> Instance {
    let properties = instance
        .properties
        .iter()
        .map(|p| {
            let (cim_type, is_array, value) = match &p.value {
                PropertyValue::Null => (CimType::String, false, PropertyValue::Null),
                PropertyValue::Reference(text) => {
                    (CimType::String, false, PropertyValue::Scalar(text.clone()))
                }
                PropertyValue::Scalar(text) => match normal_scalar(p.cim_type, text) {
                    Some((t, v)) => (t, false, PropertyValue::Scalar(v.into_owned())),
                    None => (p.cim_type, false, PropertyValue::Scalar(text.clone())),
                },
                PropertyValue::Array(items) => {
                    let mapped: Vec<Option<(CimType, String)>> = items
                        .iter()
                        .map(|item| {
                            item.as_ref()
                                .and_then(|t| normal_scalar(p.cim_type, t))
                                .map(|(t, v)| (t, v.into_owned()))
                        })
                        .collect();
                    let any = mapped.iter().flatten().next().is_some();
                    let cim_type = match p.cim_type {
                        _ if !any => CimType::String,
                        t if t.is_integer() => {
                            if mapped.iter().flatten().any(|(t, _)| *t == CimType::Sint64) {
                                CimType::Sint64
                            } else {
                                CimType::Uint64
                            }
                        }
                        _ => mapped
                            .iter()
                            .flatten()
                            .map(|(t, _)| *t)
                            .next()
                            .unwrap_or(CimType::String),
                    };
                    let values = mapped.into_iter().map(|m| m.map(|(_, v)| v)).collect();
                    (cim_type, true, PropertyValue::Array(values))
                }
            };
            Property {
                name: p.name.clone(),
                cim_type,
                is_array,
                value,
            }
        })
        .collect();
    Instance {
        class_name: instance.class_name.clone(),
        properties,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut that keeps an integer's text is taken exactly when the text is what
        /// `to_string` would write.
        #[test]
        fn canonical_integers_are_what_to_string_writes(
            text in "[-+ ]?[0-9]{0,4}|-?0[0-9]{0,3}|[0-9a-fx-]{1,6}",
            v in -10_000i128..10_000,
        ) {
            if let Ok(parsed) = lexical::check_integer(CimType::Sint64, &text) {
                prop_assert_eq!(is_canonical_integer(&text, parsed), text == parsed.to_string());
            }
            let written = v.to_string();
            prop_assert!(is_canonical_integer(&written, v));
        }

        /// A string literal is written as escaping every character one by one writes it.
        #[test]
        fn string_literals_copy_plain_runs_whole(text in "\\PC{0,24}|[a-z\"\\\\\t\n\u{1}\u{FEFF}é]{0,12}") {
            let mut fast = String::new();
            string_literal(&mut fast, &text);
            let mut slow = String::from("\"");
            for c in text.chars() {
                escape_char_into(&mut slow, c, '"');
            }
            slow.push('"');
            prop_assert_eq!(fast, slow);
        }
    }
}
