//! `ocpp-load`: the benchmark's OCPP 1.6J load generator. Each mode prints one JSON line on
//! stdout (the summary `scripts/bench-ocpp` reads) and a line for people on stderr.

use clap::{Parser, Subcommand};
use ocpp_bench::{fleet, idle, meter, prepare, storm, wallet};

#[derive(Parser)]
#[command(name = "ocpp-load", about = "Closed-loop OCPP 1.6J load against one server: meter values, idle connections, wallet starts, boot storms")]
struct Cli {
    /// Runtime worker threads. One leaves the other core of a 2-core machine to the server.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Register chargers, connectors, tokens (and drivers with wallets) through Joule's API;
    /// prints the plan as JSON.
    Prepare(prepare::PrepareArgs),
    /// Every charger in a transaction, sending MeterValues in a closed loop.
    Meter(fleet::ChargerArgs),
    /// Booted chargers that only heartbeat.
    Idle(idle::IdleArgs),
    /// Wallet sessions started through the API at a fixed rate (open loop).
    WalletStart(wallet::WalletArgs),
    /// The whole fleet connecting and booting at once, the API asked meanwhile.
    BootStorm(storm::StormArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = match cli.threads {
        1 => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n.into()).enable_all().build()?,
    };
    runtime.block_on(async {
        let summary = match cli.mode {
            Mode::Prepare(args) => {
                println!("{}", serde_json::to_string(&prepare::run(args).await?)?);
                return Ok(());
            }
            Mode::Meter(args) => meter::run(args).await,
            Mode::Idle(args) => idle::run(args).await,
            Mode::WalletStart(args) => wallet::run(args).await?,
            Mode::BootStorm(args) => storm::run(args).await?,
        };
        eprintln!("{}", summary.line());
        println!("{}", serde_json::to_string(&summary)?);
        Ok(())
    })
}
