//! Serves the sample API (`samples/rest`, `bench/rest.py`) until stopped:
//! `hygge-sample-api [--port 8765] [--records 1000] [--page-size 100]`.

fn main() {
    let mut port = 8765u16;
    let mut records = 1000usize;
    let mut page_size = 100usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<usize>().ok());
        match (arg.as_str(), value) {
            ("--port", Some(v)) => port = u16::try_from(v).unwrap_or(8765),
            ("--records", Some(v)) => records = v,
            ("--page-size", Some(v)) => page_size = v,
            _ => {
                eprintln!("usage: hygge-sample-api [--port N] [--records N] [--page-size N]");
                std::process::exit(2);
            }
        }
    }
    match hygge_http_test_server::sample_api(port, records, page_size) {
        Ok(server) => {
            println!(
                "{}/v1/ (token: {})",
                server.url(),
                hygge_http_test_server::SAMPLE_TOKEN
            );
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    }
}
