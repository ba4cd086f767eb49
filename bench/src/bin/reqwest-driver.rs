//! Send-message calls through a default `reqwest::Client`, decoding the reply into the same
//! model type as the SDK, on one thread. See `bench/run.sh`.

use guest_chat_model::{CreateWebChatMessageRequest, WebChatMessage};
use std::rc::Rc;

fn main() -> anyhow::Result<()> {
    let args = guest_chat_bench::Args::parse()?;
    guest_chat_bench::runtime()?.block_on(async {
        let client = reqwest::Client::new();
        let url = Rc::new(args.send_url());
        let auth = Rc::new(format!("Bearer {}", args.jwt));
        let body = Rc::new(CreateWebChatMessageRequest::new("hello"));
        guest_chat_bench::run("reqwest", &args, move || {
            let (client, url, auth, body) =
                (client.clone(), url.clone(), auth.clone(), body.clone());
            async move {
                let resp = client
                    .post(url.as_str())
                    .header("authorization", auth.as_str())
                    .json(&*body)
                    .send()
                    .await?
                    .error_for_status()?;
                let _msg: WebChatMessage = resp.json().await?;
                Ok(())
            }
        })
        .await
    })
}
