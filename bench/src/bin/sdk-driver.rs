//! Send-message calls through this SDK (`WebChatApi`), on one thread. See `bench/run.sh`.

use purecloud_guest_chat_client::{
    ApiClient, CreateWebChatMessageRequest, RetryPolicy, WebChatApi,
};
use std::rc::Rc;

fn main() -> anyhow::Result<()> {
    let args = guest_chat_bench::Args::parse()?;
    guest_chat_bench::runtime()?.block_on(async {
        let client = ApiClient::builder()
            .environment(args.url.as_str())
            .no_config_file()
            .retry(RetryPolicy::none())
            .jwt(args.jwt.clone())
            .build()?;
        let api = Rc::new(WebChatApi::new(&client));
        let body = Rc::new(CreateWebChatMessageRequest::new("hello"));
        let (conv, member) = (Rc::new(args.conv.clone()), Rc::new(args.member.clone()));
        guest_chat_bench::run("sdk", &args, move || {
            let (api, body, conv, member) =
                (api.clone(), body.clone(), conv.clone(), member.clone());
            async move {
                api.post_webchat_guest_conversation_member_messages(&conv, &member, &body)
                    .await?;
                Ok(())
            }
        })
        .await
    })
}
