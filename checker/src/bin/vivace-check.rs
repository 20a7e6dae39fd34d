//! `vivace-check`: checks recorded histories for linearizability.
//!
//! Exit code: 0 all linearizable, 1 some history not linearizable, 2 some
//! check did not finish (and none was illegal), 3 input error.

use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use vivace_checker::checker::Limit;
use vivace_checker::formats::{read_file, Format, History};
use vivace_checker::html::{explain_text, render, RenderInfo};
use vivace_checker::model::Model;
use vivace_checker::models::{KvModel, ModelKind, OpInput, OpOutput, RegisterModel, VivaceModel};
use vivace_checker::{analyze, CheckOptions, CheckResult};

/// Checks histories for linearizability (porcupine-style).
#[derive(Parser, Debug)]
#[command(name = "vivace-check", version)]
struct Cli {
    /// History files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Input format (default: from the extension, else from the content).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Model (default: register for jepsen, kv for kv, vivace for jsonl).
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// Write an HTML report here (with several files: `OUT-<file stem>.html`).
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// Give up after this many seconds per file (verdict unknown).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    json: bool,
    /// Give up (verdict unknown) when resident memory exceeds this many MiB.
    #[arg(long, value_name = "MIB")]
    max_memory: Option<u64>,
    /// Worker threads (default: available cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

enum FileOutcome {
    Verdict(CheckResult),
    InputError,
}

fn html_path(out: &Path, file: &Path, several: bool) -> PathBuf {
    if !several {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    let f = file
        .file_stem()
        .map_or("history".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-{f}.html"))
}

fn run<M: Model<Input = OpInput, Output = OpOutput>>(
    model: &M,
    cli: &Cli,
    file: &Path,
    h: &History,
    several: bool,
) -> Result<CheckResult, String> {
    let opts = CheckOptions {
        // Validated in main; a timeout too large for a Duration means none.
        timeout: cli
            .timeout
            .and_then(|t| Duration::try_from_secs_f64(t).ok()),
        threads: cli.threads,
        explain: !cli.json || cli.html.is_some(),
        max_rss: cli.max_memory.map(|m| m.saturating_mul(1 << 20)),
    };
    let start = Instant::now();
    let analysis = analyze(model, &h.ops, &opts);
    let seconds = start.elapsed().as_secs_f64();
    let name = file.display().to_string();
    let info = RenderInfo {
        title: &name,
        key_names: Some(&h.keys),
        lines: Some(&h.lines),
    };
    let verdict = match analysis.result {
        CheckResult::Ok => "linearizable",
        CheckResult::Illegal => "illegal",
        CheckResult::Unknown => "unknown",
    };
    let mut stdout = std::io::stdout().lock();
    if cli.json {
        let obj = serde_json::json!({
            "file": name,
            "verdict": verdict,
            "operations": h.ops.len(),
            "partitions": analysis.partitions.len(),
            "seconds": seconds,
        });
        let _ = writeln!(stdout, "{obj}");
    } else {
        let _ = writeln!(
            stdout,
            "{name}: {verdict} ({} operations, {} partitions, {seconds:.3} s)",
            h.ops.len(),
            analysis.partitions.len()
        );
        match analysis.stopped_by {
            Some(Limit::Timeout) => {
                let _ = writeln!(stdout, "  the check did not finish before the deadline");
            }
            Some(Limit::Memory) => {
                let _ = writeln!(stdout, "  the check was stopped at the memory limit");
            }
            None => {}
        }
        let _ = write!(stdout, "{}", explain_text(model, &h.ops, &analysis, &info));
    }
    if let Some(out) = &cli.html {
        let path = html_path(out, file, several);
        std::fs::write(&path, render(model, &h.ops, &analysis, &info))
            .map_err(|e| format!("{}: cannot write report: {e}", path.display()))?;
    }
    Ok(analysis.result)
}

fn check_file(cli: &Cli, file: &Path, several: bool) -> Result<CheckResult, String> {
    let h = read_file(file, cli.format).map_err(|e| e.to_string())?;
    let format = h.format.unwrap_or(Format::Jsonl);
    let kind = cli.model.unwrap_or(match format {
        Format::Jepsen => ModelKind::Register,
        Format::Kv => ModelKind::Kv,
        Format::Jsonl => ModelKind::Vivace,
    });
    for (op, line) in h.ops.iter().zip(&h.lines) {
        kind.validate(&op.input)
            .map_err(|e| format!("{}:{line}: {e}", file.display()))?;
    }
    match kind {
        ModelKind::Register => run(&RegisterModel, cli, file, &h, several),
        ModelKind::Kv => run(&KvModel, cli, file, &h, several),
        ModelKind::Vivace => run(&VivaceModel, cli, file, &h, several),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    if let Some(t) = cli.timeout {
        if !(t.is_finite() && t >= 0.0) {
            eprintln!("--timeout must be a non-negative number of seconds");
            return ExitCode::from(3);
        }
    }
    let several = cli.files.len() > 1;
    let mut outcomes = Vec::new();
    for file in &cli.files {
        match check_file(&cli, file, several) {
            Ok(r) => outcomes.push(FileOutcome::Verdict(r)),
            Err(msg) => {
                eprintln!("error: {msg}");
                if cli.json {
                    let obj = serde_json::json!({
                        "file": file.display().to_string(),
                        "verdict": "error",
                        "error": msg,
                    });
                    println!("{obj}");
                }
                outcomes.push(FileOutcome::InputError);
            }
        }
    }
    let has = |f: &dyn Fn(&FileOutcome) -> bool| outcomes.iter().any(f);
    let code = if has(&|o| matches!(o, FileOutcome::InputError)) {
        3
    } else if has(&|o| matches!(o, FileOutcome::Verdict(CheckResult::Illegal))) {
        1
    } else if has(&|o| matches!(o, FileOutcome::Verdict(CheckResult::Unknown))) {
        2
    } else {
        0
    };
    ExitCode::from(code)
}
