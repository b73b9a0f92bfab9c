//! The parser: program text to [`Program`], with errors that say where and why.
//!
//! The same text comes from two very different authors: the brain, whose
//! output is constrained but must still be checked, and an operator typing at
//! a console, who needs to see exactly which character is wrong. So every
//! error carries a 1-based line and column (counted in characters), what the
//! grammar expected there and what it found, and [`ParseError::render`] draws
//! the offending line with a caret.
//!
//! The lexer runs lazily, one token ahead of the parser, so the error
//! reported is always the first one in reading order. Recursion happens only
//! for `repeat` blocks and is cut off at [`MAX_REPEAT_DEPTH`], so no input can
//! overflow the stack. Whether the tools and arguments exist is not the
//! parser's business: that is [`crate::tools::ToolRegistry::validate`].

use super::ast::{Arg, Call, Program, Stmt, Value};

/// Most `repeat` blocks that may be nested inside each other.
pub const MAX_REPEAT_DEPTH: usize = 16;

/// Largest repetition count of one `repeat` block.
pub const MAX_REPEAT_TIMES: u32 = 1000;

/// Why program text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: expected {expected}, found {found}")]
#[non_exhaustive]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem, in characters.
    pub column: usize,
    /// What the grammar allows at this point, e.g. "`)` or `,`".
    pub expected: String,
    /// What is there instead, e.g. "`;`" or "end of input".
    pub found: String,
}

impl ParseError {
    pub fn new(line: usize, column: usize, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self { line, column, expected: expected.into(), found: found.into() }
    }

    /// The message followed by the source line and a caret under the column:
    ///
    /// ```text
    /// 1:19: expected `)` or `,`, found `;`
    ///   |
    /// 1 | drive(distance_m=2; turn(angle_deg=90)
    ///   |                   ^
    /// ```
    pub fn render(&self, src: &str) -> String {
        let text = src.split('\n').nth(self.line.saturating_sub(1)).unwrap_or("");
        let text = text.strip_suffix('\r').unwrap_or(text);
        // Tabs are kept in the caret's indentation so it lines up however
        // the terminal expands them.
        let pad: String =
            text.chars().take(self.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        // Anything but tabs would garble the picture, so control characters
        // in the echoed line are shown as spaces (one column each, like the caret).
        let shown: String = text.chars().map(|c| if c.is_control() && c != '\t' { ' ' } else { c }).collect();
        let num = self.line.to_string();
        let gutter = " ".repeat(num.len());
        format!("{self}\n{gutter} |\n{num} | {shown}\n{gutter} | {pad}^")
    }
}

/// Parse program text. Empty text (or only comments and separators) is an
/// empty program; rejecting it is validation's job.
pub fn parse(src: &str) -> Result<Program, ParseError> {
    let mut p = Parser { lex: Lexer::new(src), peeked: None };
    let stmts = p.block(0, false)?;
    Ok(Program { stmts })
}

/// Whether `s` is an identifier of the language: `[A-Za-z_][A-Za-z0-9_]*`.
/// Tool and argument names must be, or the program would not print back.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if is_ident_start(c)) && chars.all(is_ident_char)
}

/// Whether `s` can name a tool: an identifier other than the keyword `repeat`.
pub fn is_tool_name(s: &str) -> bool {
    is_ident(s) && s != "repeat"
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Semi,
    Newline,
    Comma,
    Eq,
    Ident(String),
    Number(f64),
    Str(String),
    /// A character no token starts with; the parser reports it in context.
    Bad,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    column: usize,
    /// The source text of the token, for "found" in errors and for
    /// checking that a repeat count is written as a plain integer.
    text: String,
}

impl Token {
    fn describe(&self) -> String {
        match self.tok {
            Tok::Eof => "end of input".into(),
            Tok::Newline => "a new line".into(),
            _ => quote_snippet(&self.text),
        }
    }

    fn error(&self, expected: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.column, expected, self.describe())
    }
}

/// Source text in backticks, shortened so one long string literal does not
/// swamp the message.
fn quote_snippet(text: &str) -> String {
    const MAX: usize = 24;
    let mut s: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        s.push('…');
    }
    format!("`{s}`")
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Lexer {
    fn new(src: &str) -> Self {
        Self { chars: src.chars().collect(), pos: 0, line: 1, column: 1 }
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn text_from(&self, start: usize) -> String {
        self.chars[start..self.pos].iter().collect()
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek_at(0) {
            if c == '#' {
                while self.peek_at(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c != '\n' && c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_blanks();
        let (line, column, start) = (self.line, self.column, self.pos);
        let Some(c) = self.peek_at(0) else {
            return Ok(Token { tok: Tok::Eof, line, column, text: String::new() });
        };
        let digit_at = |l: &Lexer, k: usize| l.peek_at(k).is_some_and(|c| c.is_ascii_digit());
        let tok = match c {
            '(' | ')' | '{' | '}' | ';' | '\n' | ',' | '=' => {
                self.bump();
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    ';' => Tok::Semi,
                    '\n' => Tok::Newline,
                    ',' => Tok::Comma,
                    _ => Tok::Eq,
                }
            }
            '"' | '\'' => Tok::Str(self.string(c, line, column)?),
            c if c.is_ascii_digit() || (c == '-' && digit_at(self, 1)) => {
                self.bump();
                self.digits();
                // A `.` or `e` only belongs to the number when digits follow,
                // so `2.` or `2em` end the number and the parser reports the
                // stray character in context.
                if self.peek_at(0) == Some('.') && digit_at(self, 1) {
                    self.bump();
                    self.digits();
                }
                if matches!(self.peek_at(0), Some('e' | 'E')) {
                    let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
                    if digit_at(self, 1 + sign) {
                        for _ in 0..=sign {
                            self.bump();
                        }
                        self.digits();
                    }
                }
                let text = self.text_from(start);
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Tok::Number(v),
                    _ => {
                        return Err(ParseError::new(
                            line,
                            column,
                            "a number in range",
                            format!("{} (number out of range)", quote_snippet(&text)),
                        ))
                    }
                }
            }
            c if is_ident_start(c) => {
                while self.peek_at(0).is_some_and(is_ident_char) {
                    self.bump();
                }
                Tok::Ident(self.text_from(start))
            }
            _ => {
                self.bump();
                Tok::Bad
            }
        };
        Ok(Token { tok, line, column, text: self.text_from(start) })
    }

    fn digits(&mut self) {
        while self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    /// A quoted string; the opening quote is next. Strings stay on one line:
    /// a forgotten closing quote then fails at the end of that line instead
    /// of silently swallowing the rest of the program.
    fn string(&mut self, quote: char, line: usize, column: usize) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            let (esc_line, esc_col, esc_start) = (self.line, self.column, self.pos);
            match self.peek_at(0) {
                None => {
                    return Err(ParseError::new(line, column, format!("`{quote}` to close this text"), "end of input"))
                }
                Some('\n') => {
                    return Err(ParseError::new(line, column, format!("`{quote}` to close this text"), "end of line"))
                }
                Some(c) if c == quote => {
                    self.bump();
                    return Ok(out);
                }
                Some('\\') => {
                    self.bump();
                    let bad = |l: &Lexer, expected: &str| {
                        ParseError::new(esc_line, esc_col, expected, quote_snippet(&l.text_from(esc_start)))
                    };
                    let simple = "an escape (\\\" \\' \\\\ \\n \\t \\r or \\u{...})";
                    match self.peek_at(0) {
                        Some(c @ ('"' | '\'' | '\\')) => out.push(c),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some('u') => {
                            self.bump();
                            out.push(
                                self.unicode_escape().map_err(|()| bad(self, "a unicode escape such as `\\u{e9}`"))?,
                            );
                            continue;
                        }
                        Some('\n') | None => return Err(bad(self, simple)),
                        Some(_) => {
                            self.bump();
                            return Err(bad(self, simple));
                        }
                    }
                    self.bump();
                }
                Some(c) => {
                    self.bump();
                    out.push(c);
                }
            }
        }
    }

    /// The `{hex}` part of `\u{hex}`: one to six hex digits naming a Unicode
    /// scalar value (surrogates are not characters).
    fn unicode_escape(&mut self) -> Result<char, ()> {
        if self.peek_at(0) != Some('{') {
            return Err(());
        }
        self.bump();
        let mut value: u32 = 0;
        let mut n = 0;
        while let Some(d) = self.peek_at(0).and_then(|c| c.to_digit(16)) {
            self.bump();
            n += 1;
            if n > 6 {
                return Err(());
            }
            value = value * 16 + d;
        }
        if n == 0 || self.peek_at(0) != Some('}') {
            return Err(());
        }
        self.bump();
        char::from_u32(value).ok_or(())
    }
}

struct Parser {
    lex: Lexer,
    peeked: Option<Token>,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next_token()?);
        }
        // Filled just above; the fallback only exists to avoid a panic path.
        Ok(self.peeked.get_or_insert_with(|| Token { tok: Tok::Eof, line: 1, column: 1, text: String::new() }))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next_token(),
        }
    }

    /// Inside a call or a `repeat` header, line breaks are just whitespace.
    fn next_skipping_newlines(&mut self) -> Result<Token, ParseError> {
        loop {
            let t = self.next()?;
            if t.tok != Tok::Newline {
                return Ok(t);
            }
        }
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, ParseError> {
        let t = self.next_skipping_newlines()?;
        if t.tok == tok {
            Ok(t)
        } else {
            Err(t.error(expected))
        }
    }

    /// Statements up to the end of input (top level) or up to a `}` that is
    /// left for the caller to consume (inside a block). `depth` is the number
    /// of enclosing `repeat` blocks.
    fn block(&mut self, depth: usize, in_block: bool) -> Result<Vec<Stmt>, ParseError> {
        let mut stmts = Vec::new();
        loop {
            while matches!(self.peek()?.tok, Tok::Semi | Tok::Newline) {
                self.next()?;
            }
            let t = self.next()?;
            match &t.tok {
                Tok::Eof if !in_block => return Ok(stmts),
                Tok::RBrace if in_block => {
                    self.peeked = Some(t);
                    return Ok(stmts);
                }
                Tok::Ident(name) if name == "repeat" => stmts.push(self.repeat(t, depth)?),
                Tok::Ident(name) => {
                    let tool = name.clone();
                    stmts.push(Stmt::Call(self.call(tool)?));
                }
                _ if in_block => return Err(t.error("a tool call, `repeat` or `}`")),
                _ => return Err(t.error("a tool call or `repeat`")),
            }
            match self.peek()?.tok {
                Tok::Semi | Tok::Newline => {}
                Tok::Eof if !in_block => return Ok(stmts),
                Tok::RBrace if in_block => return Ok(stmts),
                _ if in_block => return Err(self.next()?.error("`;`, a new line or `}`")),
                _ => return Err(self.next()?.error("`;`, a new line or end of input")),
            }
        }
    }

    /// The rest of a call after its tool name.
    fn call(&mut self, tool: String) -> Result<Call, ParseError> {
        self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        loop {
            let t = self.next_skipping_newlines()?;
            let name = match t.tok {
                Tok::RParen => break,
                Tok::Ident(name) => name,
                _ => return Err(t.error("an argument name or `)`")),
            };
            self.expect(Tok::Eq, "`=`")?;
            let t = self.next_skipping_newlines()?;
            let value = match t.tok {
                Tok::Number(v) => Value::Number(v),
                Tok::Str(s) | Tok::Ident(s) => Value::Str(s),
                _ => return Err(t.error("a value (number, \"text\" or word)")),
            };
            args.push(Arg { name, value });
            let t = self.next_skipping_newlines()?;
            match t.tok {
                Tok::Comma => {}
                Tok::RParen => break,
                _ => return Err(t.error("`)` or `,`")),
            }
        }
        Ok(Call { tool, args })
    }

    /// The rest of `repeat(n) { ... }` after the keyword.
    fn repeat(&mut self, keyword: Token, depth: usize) -> Result<Stmt, ParseError> {
        if depth >= MAX_REPEAT_DEPTH {
            return Err(ParseError::new(
                keyword.line,
                keyword.column,
                format!("at most {MAX_REPEAT_DEPTH} nested `repeat` blocks"),
                format!("`repeat` nested {} deep", depth + 1),
            ));
        }
        self.expect(Tok::LParen, "`(`")?;
        let t = self.next_skipping_newlines()?;
        let times = match t.tok {
            Tok::Number(_) if t.text.bytes().all(|b| b.is_ascii_digit()) => t.text.parse::<u32>().ok(),
            _ => None,
        }
        .filter(|n| (1..=MAX_REPEAT_TIMES).contains(n))
        .ok_or_else(|| t.error(format!("a whole number of times from 1 to {MAX_REPEAT_TIMES}")))?;
        self.expect(Tok::RParen, "`)`")?;
        self.expect(Tok::LBrace, "`{`")?;
        let body = self.block(depth + 1, true)?;
        self.expect(Tok::RBrace, "`}`")?;
        Ok(Stmt::Repeat { times, body })
    }
}
