use super::*;

fn client(url: &str) -> Result<Client, String> {
    Client::new(Config {
        base_url: url.into(),
        credentials: Credentials::None,
        concurrency: 1,
        attempts: 1,
    })
}

#[test]
fn plain_http_is_refused_off_loopback() {
    assert!(
        client("http://allma.example.com/v1")
            .unwrap_err()
            .contains("refusing plain http://")
    );
    assert!(
        client("https://user:secret@allma.example.com/v1")
            .unwrap_err()
            .contains("must not carry credentials")
    );
    assert!(
        !client("https://allma.example.com/v1?key=secret")
            .unwrap_err()
            .contains("secret")
    );
    for ok in [
        "https://allma.example.com/v1",
        "http://127.0.0.1:9/v1",
        "http://localhost:9/v1",
        "http://[::1]:9/v1",
    ] {
        assert!(client(ok).is_ok(), "{ok}");
    }
}

#[test]
fn conflicts_answered_with_500_are_categorised_as_conflicts() {
    let e = Error::Status {
        method: Method::PUT,
        path: "/allma/flows/x/versions/1".into(),
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: Some("SERVER_ERROR".into()),
        message: "Transaction cancelled, please refer cancellation reasons".into(),
    };
    assert_eq!(e.category(), "Conflict");
    assert!(!e.answer_lost(), "a 500 is an answer: nothing to recover");
}

#[test]
fn backoff_grows_and_stays_bounded() {
    assert!(backoff(1) <= Duration::from_millis(500));
    assert!(backoff(10) <= Duration::from_secs(8));
    assert!(backoff(10) >= Duration::from_secs(4));
}
