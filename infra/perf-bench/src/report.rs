//! The printed table of a run and the verdicts against the targets.

use super::*;

pub(crate) fn fmt_ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

pub(crate) fn fmt_mb_kb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

pub(crate) fn print_report(
    args: &Args,
    subjects: &[Subject],
    results: &BTreeMap<String, Measured>,
    took: Duration,
) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Measured {} on {} ({} cold starts and {} warm invocations each; load average {}; {:.0} s).",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        cpu,
        args.cold,
        args.warm,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        took.as_secs_f64()
    );
    println!();
    println!("| function | invocation | init ms | first answer ms | warm median ms | warm p90 ms | peak RSS MB | arm64 zip MB |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in subjects {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let zip = zip_size(s.logical_id.as_deref())
            .map(|b| format!("{:.2}", b as f64 / 1e6))
            .unwrap_or_else(|| {
                if s.logical_id.is_some() {
                    "-".into()
                } else {
                    "n/a".into()
                }
            });
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            s.what,
            fmt_ms(median(&m.init_ms)),
            fmt_ms(median(&m.first_ms)),
            fmt_ms(median(&m.warm_ms)),
            fmt_ms(percentile(&m.warm_ms, 0.9)),
            fmt_mb_kb(m.peak_rss_kb),
            zip
        );
    }
    let Some(py) = results.get(PYTHON) else {
        return;
    };
    println!();
    println!(
        "Python / Rust (how many times the Python stack's figure is the function's; warm \
         compares like with like only where the invocation is also one GetItem):"
    );
    println!();
    println!("| function | same work as the Python handler | init | first answer | warm median | peak RSS |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for s in subjects.iter().filter(|s| s.name != PYTHON) {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let ratio = |a: f64, b: f64| format!("{:.1}x", a / b);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            s.name,
            if like_python(&s.name) {
                "yes"
            } else {
                "no, more"
            },
            ratio(median(&py.init_ms), median(&m.init_ms)),
            ratio(median(&py.first_ms), median(&m.first_ms)),
            ratio(median(&py.warm_ms), median(&m.warm_ms)),
            ratio(py.peak_rss_kb as f64, m.peak_rss_kb as f64)
        );
    }
    println!();
    println!("Targets per function: init <= 8 ms, peak RSS <= 10 MB, arm64 zip <= 3.5 MB.");
    for s in subjects.iter().filter(|s| s.name != PYTHON) {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let init = median(&m.init_ms);
        let rss = m.peak_rss_kb as f64 / 1024.0;
        let zip = zip_size(s.logical_id.as_deref()).map(|b| b as f64 / 1e6);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "- {}: init {} ({} ms), peak RSS {} ({:.1} MB), zip {}",
            s.name,
            verdict(init <= 8.0),
            fmt_ms(init),
            verdict(rss <= 10.0),
            rss,
            zip.map(|z| format!("{} ({z:.2} MB)", verdict(z <= 3.5)))
                .unwrap_or_else(|| "not measured (run make package)".into())
        );
    }
}
