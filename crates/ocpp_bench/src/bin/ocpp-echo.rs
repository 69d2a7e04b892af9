//! `ocpp-echo`: the benchmark's ceiling, a bare WebSocket server that answers every OCPP CALL
//! with an empty CALLRESULT at once.

use clap::Parser;

#[derive(Parser)]
#[command(name = "ocpp-echo", about = "Answers every OCPP CALL with [3, id, {}] at once: the ceiling of the OCPP benchmark")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    eprintln!("ocpp-echo listening on {}", listener.local_addr()?);
    Ok(ocpp_bench::echo::serve(listener).await?)
}
