//! Credentials: the bearer token, kept out of every log, status and error message.

use std::fmt;
use std::path::PathBuf;

/// A bearer token. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token (surrounding whitespace removed).
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into().trim().to_string())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Token {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Token::new(s))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Reading credentials failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token file could not be read.
    #[error("cannot read the token file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The token file is empty.
    #[error("the token file {0} is empty")]
    Empty(PathBuf),
}

/// Where the token comes from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// No token (the embedded local API needs none).
    None,
    /// A fixed token (`ALLMA_TOKEN`).
    Static(Token),
    /// A file, read again for every request so a rotated token is picked up.
    File(PathBuf),
}

impl Credentials {
    /// The current token, if any.
    pub fn token(&self) -> Result<Option<Token>, Error> {
        match self {
            Credentials::None => Ok(None),
            Credentials::Static(t) => Ok(Some(t.clone())),
            Credentials::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                let token = Token::new(text);
                if token.expose().is_empty() {
                    return Err(Error::Empty(path.clone()));
                }
                Ok(Some(token))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print() {
        let t = Token::new("secret-value\n");
        assert_eq!(t.expose(), "secret-value");
        assert!(!format!("{t} {t:?} {:?}", Credentials::Static(t.clone())).contains("secret"));
    }
}
