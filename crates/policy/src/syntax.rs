//! The rule language's text: tokens and a recursive-descent parser into [`Expr`].
//!
//! ```text
//! expr    := or
//! or      := and ("||" and)*
//! and     := unary ("&&" unary)*
//! unary   := "!" unary | compare
//! compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") operand)?
//! operand := literal | list | "(" expr ")" | call | path
//! path    := name ("." name)* ("." ("some" | "every" | "none") "(" expr ")")?
//! call    := "now" "(" ")"
//! literal := string ('…' or "…") | number | true | false | null
//! ```
//!
//! Offsets are byte offsets into the rule text; the caller maps them to the schema file.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Str(String),
    Num(f64, bool),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    End,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub at: Range<usize>,
}

/// A syntax error: what, and where in the rule text.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub at: Range<usize>,
}

pub fn tokens(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let two = text.get(i..i + 2).unwrap_or("");
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b',' => Tok::Comma,
            b'.' => Tok::Dot,
            _ if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two) => {
                i += 2;
                let op = ["==", "!=", "<=", ">=", "&&", "||"].into_iter().find(|o| *o == two).unwrap_or("==");
                out.push(Token { tok: Tok::Op(op), at: start..i });
                continue;
            }
            b'<' => Tok::Op("<"),
            b'>' => Tok::Op(">"),
            b'!' => Tok::Op("!"),
            b'=' => {
                return Err(SyntaxError {
                    message: "`=` assigns nothing here: compare with `==`".into(),
                    at: start..start + 1,
                });
            }
            b'&' | b'|' => {
                let op = if c == b'&' { "&&" } else { "||" };
                return Err(SyntaxError { message: format!("write `{op}`"), at: start..start + 1 });
            }
            b'"' | b'\'' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(SyntaxError {
                                message: "this string is never closed".into(),
                                at: start..text.len(),
                            })
                        }
                        Some(&b) if b == quote => break,
                        Some(b'\\') if i + 1 < bytes.len() => {
                            let escaped = text[i + 1..].chars().next().unwrap_or('\\');
                            value.push(escaped);
                            i += 1 + escaped.len_utf8();
                        }
                        Some(_) => {
                            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                i += 1;
                out.push(Token { tok: Tok::Str(value), at: start..i });
                continue;
            }
            b'0'..=b'9' | b'-' if c != b'-' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while bytes.get(i).is_some_and(|b| b.is_ascii_digit() || *b == b'.') {
                    i += 1;
                }
                let literal = &text[start..i];
                let value = literal
                    .parse::<f64>()
                    .map_err(|_| SyntaxError { message: format!("`{literal}` is not a number"), at: start..i })?;
                out.push(Token { tok: Tok::Num(value, !literal.contains('.')), at: start..i });
                continue;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() => {
                while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                    i += 1;
                }
                out.push(Token { tok: Tok::Name(text[start..i].to_string()), at: start..i });
                continue;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                return Err(SyntaxError { message: format!("unexpected `{ch}`"), at: start..start + ch.len_utf8() });
            }
        };
        i += 1;
        out.push(Token { tok, at: start..i });
    }
    out.push(Token { tok: Tok::End, at: text.len()..text.len() });
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Some,
    Every,
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    List(Vec<Expr>),
    /// `a.b.c`, each name with its offsets.
    Path(Vec<(String, Range<usize>)>),
    /// `members.some(userId == auth.id)`.
    Quantified {
        path: Vec<(String, Range<usize>)>,
        quantifier: Quantifier,
        body: Box<Expr>,
    },
    Now,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        op: &'static str,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub at: Range<usize>,
}

pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = tokens(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let expr = p.or(0)?;
    match &p.peek().tok {
        Tok::End => Ok(expr),
        _ => Err(p.unexpected("an operator such as `&&` or `==`, or the end of the rule")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        let token = self.peek();
        let found = match &token.tok {
            Tok::End => "the end of the rule".to_string(),
            Tok::Name(n) => format!("`{n}`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Num(..) => "a number".to_string(),
            Tok::Op(o) => format!("`{o}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
        };
        SyntaxError { message: format!("expected {expected}, found {found}"), at: token.at.clone() }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token, SyntaxError> {
        if self.peek().tok == tok {
            Ok(self.next())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                message: format!("nested more than {MAX_DEPTH} levels deep"),
                at: self.peek().at.clone(),
            });
        }
        let mut left = self.and(depth)?;
        while self.peek().tok == Tok::Op("||") {
            self.next();
            let right = self.and(depth)?;
            let at = left.at.start..right.at.end;
            left = Expr { kind: ExprKind::Or(Box::new(left), Box::new(right)), at };
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let mut left = self.unary(depth)?;
        while self.peek().tok == Tok::Op("&&") {
            self.next();
            let right = self.unary(depth)?;
            let at = left.at.start..right.at.end;
            left = Expr { kind: ExprKind::And(Box::new(left), Box::new(right)), at };
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if self.peek().tok == Tok::Op("!") {
            let start = self.next().at.start;
            let inner = self.unary(depth + 1)?;
            let at = start..inner.at.end;
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), at });
        }
        self.compare(depth)
    }

    fn compare(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let left = self.operand(depth)?;
        let op = match &self.peek().tok {
            Tok::Op(op @ ("==" | "!=" | "<" | "<=" | ">" | ">=")) => *op,
            Tok::Name(n) if n == "in" => "in",
            _ => return Ok(left),
        };
        self.next();
        let right = self.operand(depth)?;
        let at = left.at.start..right.at.end;
        Ok(Expr { kind: ExprKind::Compare { op, left: Box::new(left), right: Box::new(right) }, at })
    }

    fn operand(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if !matches!(self.peek().tok, Tok::Str(_) | Tok::Num(..) | Tok::LParen | Tok::LBracket | Tok::Name(_)) {
            return Err(self.unexpected("a value, a field, or `(`"));
        }
        let token = self.next();
        let literal = |l: Literal, at: Range<usize>| Ok(Expr { kind: ExprKind::Literal(l), at });
        match token.tok {
            Tok::Str(s) => literal(Literal::Str(s), token.at),
            Tok::Num(n, true) if n.abs() < 9.0e15 => literal(Literal::Int(n as i64), token.at),
            Tok::Num(n, _) => literal(Literal::Float(n), token.at),
            Tok::LParen => {
                let inner = self.or(depth + 1)?;
                let end = self.expect(Tok::RParen, "`)`")?.at.end;
                Ok(Expr { kind: inner.kind, at: token.at.start..end })
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                if self.peek().tok != Tok::RBracket {
                    loop {
                        items.push(self.operand(depth + 1)?);
                        if self.peek().tok == Tok::Comma {
                            self.next();
                            continue;
                        }
                        break;
                    }
                }
                let end = self.expect(Tok::RBracket, "`,` or `]`")?.at.end;
                Ok(Expr { kind: ExprKind::List(items), at: token.at.start..end })
            }
            Tok::Name(name) => match name.as_str() {
                "true" => literal(Literal::Bool(true), token.at),
                "false" => literal(Literal::Bool(false), token.at),
                "null" => literal(Literal::Null, token.at),
                "now" if self.peek().tok == Tok::LParen => {
                    self.next();
                    let end = self.expect(Tok::RParen, "`)`: now() takes no arguments")?.at.end;
                    Ok(Expr { kind: ExprKind::Now, at: token.at.start..end })
                }
                _ => self.path(name, token.at, depth),
            },
            _ => Err(self.unexpected("a value, a field, or `(`")),
        }
    }

    fn path(&mut self, first: String, at: Range<usize>, depth: usize) -> Result<Expr, SyntaxError> {
        let start = at.start;
        let mut names = vec![(first, at)];
        while self.peek().tok == Tok::Dot {
            self.next();
            if !matches!(self.peek().tok, Tok::Name(_)) {
                return Err(self.unexpected("a field name after `.`"));
            }
            let token = self.next();
            let Tok::Name(name) = token.tok else { return Err(self.unexpected("a field name after `.`")) };
            let quantifier = match name.as_str() {
                "some" => Some(Quantifier::Some),
                "every" => Some(Quantifier::Every),
                "none" => Some(Quantifier::None),
                _ => None,
            };
            if let (Some(quantifier), Tok::LParen) = (quantifier, &self.peek().tok) {
                self.next();
                let body = self.or(depth + 1)?;
                let end = self.expect(Tok::RParen, "`)`")?.at.end;
                return Ok(Expr {
                    kind: ExprKind::Quantified { path: names, quantifier, body: Box::new(body) },
                    at: start..end,
                });
            }
            names.push((name, token.at));
        }
        let end = names.last().map_or(start, |(_, at)| at.end);
        Ok(Expr { kind: ExprKind::Path(names), at: start..end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        fn show(e: &Expr) -> String {
            match &e.kind {
                ExprKind::Literal(l) => format!("{l:?}"),
                ExprKind::List(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
                ExprKind::Path(p) => p.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join("."),
                ExprKind::Quantified { path, quantifier, body } => format!(
                    "{}.{quantifier:?}({})",
                    path.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join("."),
                    show(body)
                ),
                ExprKind::Now => "now()".into(),
                ExprKind::Not(e) => format!("!({})", show(e)),
                ExprKind::And(a, b) => format!("({} && {})", show(a), show(b)),
                ExprKind::Or(a, b) => format!("({} || {})", show(a), show(b)),
                ExprKind::Compare { op, left, right } => format!("({} {op} {})", show(left), show(right)),
            }
        }
        parse(text).map(|e| show(&e)).unwrap_or_else(|e| format!("error at {:?}: {}", e.at, e.message))
    }

    #[test]
    fn precedence_and_forms() {
        assert_eq!(shape("a || b && !c"), "(a || (b && !(c)))");
        assert_eq!(shape("(a || b) && c"), "((a || b) && c)");
        assert_eq!(shape("auth.id == authorId"), "(auth.id == authorId)");
        assert_eq!(shape("status in ['open', \"draft\"]"), "(status in [Str(\"open\"), Str(\"draft\")])");
        assert_eq!(shape("members.some(userId == auth.id)"), "members.Some((userId == auth.id))");
        assert_eq!(shape("!archived && createdAt > now()"), "(!(archived) && (createdAt > now()))");
        assert_eq!(shape("score >= -1.5"), "(score >= Float(-1.5))");
    }

    #[test]
    fn errors_point_into_the_rule() {
        assert_eq!(shape("a = b"), "error at 2..3: `=` assigns nothing here: compare with `==`");
        assert_eq!(shape("a &&"), "error at 4..4: expected a value, a field, or `(`, found the end of the rule");
        assert_eq!(shape("(a"), "error at 2..2: expected `)`, found the end of the rule");
        assert_eq!(
            shape("a b"),
            "error at 2..3: expected an operator such as `&&` or `==`, or the end of the rule, found `b`"
        );
        assert_eq!(shape("'open"), "error at 0..5: this string is never closed");
    }
}
