"""The one place that talks to WeChat: client (wechatpy), token cache, error mapping, sandbox."""
