//! `joule demo` as a newcomer runs it: the built binary, its printout and its exit status.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far above the demo's own run time (about 30 s): a bound, not a timing test.
const GENEROUS: Duration = Duration::from_secs(60);

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `joule demo` with its temporary files in `tmp`; kills it if it outlives twice
/// [`GENEROUS`], so a hang fails the test instead of stalling the suite.
fn demo(tmp: &std::path::Path, args: &[&str]) -> Run {
    let began = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_joule"))
        .arg("demo")
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("joule runs");
    let read = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if began.elapsed() > 2 * GENEROUS {
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Run { success: status.success(), stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap(), took: began.elapsed() }
}

/// The amount after `label` in `line`: `$24.67` → 2467 cents.
fn cents_after(line: &str, label: &str) -> i64 {
    let rest = line.split(label).nth(1).unwrap_or_else(|| panic!("{label:?} in {line:?}"));
    let amount: String = rest.trim_start().strip_prefix('$').unwrap().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let (dollars, cents) = amount.split_once('.').unwrap();
    dollars.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

fn line_starting<'a>(output: &'a str, start: &str) -> &'a str {
    output.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("a line starting with {start:?} in:\n{output}"))
}

#[test]
fn the_demo_runs_an_app_and_a_card_wallet_session_end_to_end_and_cleans_up() {
    let out = demo_checked("ocpp1.6", "StopTransaction");
    assert!(out.contains("over OCPP 1.6J") && out.contains("Joule sent RemoteStartTransaction"), "{out}");
}

#[test]
fn the_demo_runs_on_an_ocpp_2_0_1_charger() {
    let out = demo_checked("ocpp2.0.1", "TransactionEvent Ended");
    assert!(out.contains("over OCPP 2.0.1") && out.contains("Joule sent RequestStartTransaction"), "{out}");
}

/// Runs the demo with a charger speaking `protocol` (which ends a transaction with `ended`),
/// checks what any run shows, and answers its printout.
fn demo_checked(protocol: &str, ended: &str) -> String {
    let tmp = std::env::temp_dir().join(format!("joule-demo-test-{}-{protocol}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let run = demo(&tmp, &["--protocol", protocol]);
    let out = &run.stdout;
    assert!(run.success, "exit status 0\nstdout:\n{out}\nstderr:\n{}", run.stderr);
    assert!(run.took < GENEROUS, "finished in {:?}", run.took);
    assert!(!out.contains('\r') && !out.contains('\x1b'), "plain lines when stdout is not a terminal:\n{out}");
    assert!(out.contains("session ended"), "{out}");
    assert!(out.contains("pause: paused") && out.contains("resume: started"), "{out}");

    // The events section, oldest first, and the webhooks received (the demo itself checks
    // their signatures and that they came once each in the events' order): the session's life
    // in order, the capture after its end.
    let expected = ["session.created", "payment.authorized", "session.started", "session.paused", "session.resumed", "session.ended", "payment.captured"];
    for section in ["Events", "Webhooks received"] {
        let events: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with(section))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let positions: Vec<usize> =
            expected.iter().map(|e| events.iter().position(|t| t == e).unwrap_or_else(|| panic!("{e} in {section}: {events:?}"))).collect();
        assert!(positions.is_sorted(), "{expected:?} in this order in {section}: {events:?}");
    }

    // The second session was started and stopped with the card, paid from the same wallet.
    assert!(out.contains("Joule answers Accepted: a wallet session") && out.contains(&format!("again: the charger sent {ended}: session ended")), "{out}");

    // The wallet lost exactly what the payments captured, one ledger entry each.
    let (payment, card) = (line_starting(out, "Payment:"), line_starting(out, "Card payment:"));
    let captured = [cents_after(payment, "captured"), cents_after(card, "captured")];
    let wallet = line_starting(out, "Wallet:");
    let (balance, was) = (cents_after(wallet, "balance"), cents_after(wallet, "was"));
    assert!(captured.iter().all(|c| *c > 0), "both sessions cost something: {payment} {card}");
    assert_eq!(was, 2500, "{wallet}");
    assert_eq!(balance, was - captured.iter().sum::<i64>(), "{wallet} after {payment} {card}");
    let captures: Vec<&str> = out.lines().filter(|l| l.starts_with("  session_capture")).collect();
    assert_eq!(captures.len(), 2, "{out}");
    for (entry, c) in captures.iter().zip(captured) {
        assert!(entry.contains(&format!(" -${}.{:02} ", c / 100, c % 100)), "the ledger entries are the captures, in order: {entry}");
    }

    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "the temporary database is removed: {left:?}");
    std::fs::remove_dir_all(tmp).unwrap();
    run.stdout
}
