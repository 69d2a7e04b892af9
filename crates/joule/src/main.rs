//! The `joule` binary: parses the command line and wires the crates together. No logic lives
//! here beyond choosing what to run.

use clap::{Parser, Subcommand};
use joule::{demo, serve, settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "joule", version, about = "Joule: an EV charging backend with wallet-paid sessions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API (and, on the same port, the OCPP endpoint).
    Serve(settings::ServeArgs),
    /// Connect virtual OCPP chargers (1.6J or 2.0.1) to a Joule (or any OCPP) server.
    Sim(sim::SimArgs),
    /// Run wallet-paid charging sessions end to end on a throwaway server and charger.
    Demo(demo::DemoArgs),
    /// Print a commented example configuration file.
    DefaultConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve::run(settings::Settings::load(&args)?).await,
        Command::Sim(args) => {
            quiet_logs();
            Ok(sim::run(args).await?)
        }
        Command::Demo(args) => {
            quiet_logs();
            demo::run(args).await
        }
        Command::DefaultConfig => {
            print!("{}", settings::EXAMPLE);
            Ok(())
        }
    }
}

/// For commands whose own lines go to stdout: logs (RUST_LOG) go to stderr, and by default
/// only for problems.
fn quiet_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour).init();
}
