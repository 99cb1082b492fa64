//! The embedded store survives `kill -9` during an apply: the next apply converges and a
//! diff afterwards shows no changes.

mod common;

use common::{Run, TempDir, bin};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn generate(dir: &TempDir, flows: usize) {
    dir.write("prompt.yaml", "apiVersion: allma.dev/v1alpha1\nkind: PromptTemplate\nmetadata: {name: crash-prompt}\nspec: {content: 'Hi {{x}}'}\n");
    for i in 0..flows {
        let text = format!(
            "apiVersion: allma.dev/v1alpha1\nkind: Flow\nmetadata: {{name: crash-flow-{i}}}\nspec:\n  definition:\n    startStepInstanceId: a\n    steps:\n      a: {{stepType: LLM_INVOCATION, llmProvider: GEMINI, modelId: m{i}, promptTemplateId: crash-prompt, defaultNextStepInstanceId: b}}\n      b: {{stepType: END_FLOW}}\n"
        );
        dir.write(&format!("flows/f{i:04}.yaml"), &text);
    }
}

fn run(state: &TempDir, args: &[&str]) -> Run {
    let output = Command::new(bin())
        .args(args)
        .arg("--api-url")
        .arg(format!("local:{}", state.str()))
        .env_remove("ALLMA_API_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run allma-gitops");
    Run::from(output)
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|rd| rd.count()).unwrap_or(0)
}

#[test]
fn store_survives_kill_9_during_apply_and_next_apply_converges() {
    let defs = TempDir::new("crash-defs");
    generate(&defs, 400);
    let mut interrupted = 0;
    for (attempt, wait_for_files) in [1usize, 50, 200].into_iter().enumerate() {
        let state = TempDir::new("crash-state");
        let mut child = Command::new(bin())
            .args(["apply", defs.str(), "--api-url"])
            .arg(format!("local:{}", state.str()))
            .env_remove("ALLMA_API_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apply");
        let flows_dir = state.path().join("flows");
        let started = Instant::now();
        while files_in(&flows_dir) < wait_for_files && started.elapsed() < Duration::from_secs(30) {
            if child.try_wait().expect("poll").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let finished = child.try_wait().expect("poll").is_some();
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        let at_kill = files_in(&flows_dir);
        eprintln!(
            "attempt {attempt}: killed with {at_kill} of 400 flows stored (finished before: {finished})"
        );
        if !finished && at_kill < 400 {
            interrupted += 1;
        }
        let again = run(&state, &["apply", defs.str()]);
        again.expect(
            0,
            &format!(
                "apply after kill -9 (attempt {attempt}, {} flow dirs)",
                files_in(&flows_dir)
            ),
        );
        run(&state, &["diff", defs.str()]).expect(0, "diff after recovery");
        assert_eq!(files_in(&flows_dir), 400, "every flow exists once");
    }
    assert!(
        interrupted > 0,
        "no attempt was killed in the middle of an apply"
    );
}

#[test]
fn a_store_in_use_by_another_process_is_refused_with_its_path() {
    let target = common::Target::embedded();
    let state = target.state_dir().to_path_buf();
    let defs = TempDir::new("lock-defs");
    generate(&defs, 1);
    let output = Command::new(bin())
        .args(["diff", defs.str(), "--api-url"])
        .arg(format!("local:{}", state.display()))
        .env_remove("ALLMA_API_URL")
        .output()
        .expect("run allma-gitops");
    let r = Run::from(output);
    r.expect(1, "second process on the same store");
    assert!(
        r.stderr.contains("already in use") && r.stderr.contains(state.to_str().unwrap()),
        "{}",
        r.stderr
    );
}
