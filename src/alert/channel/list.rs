// Every notification channel, once. Also read by build.rs (through cli.rs,
// for `--channel` in --help and the man pages), so it holds nothing but the
// list: no inner doc comment, no path into the crate.

/// Calls `$then! { key => Variant(Type), ... }` with every channel: its key
/// under `[notify]` (also its module, and its name in logs, folders and
/// `--channel`), its variant, and its section's type in that module. A new
/// channel is its module plus one line here.
macro_rules! channel_list {
    ($then:ident) => {
        $then! {
            email => Email(EmailConfig),
            teams => Teams(TeamsConfig),
            telegram => Telegram(TelegramConfig),
            ntfy => Ntfy(NtfyConfig),
        }
    };
}
