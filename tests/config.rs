//! Building a `Config` in one expression with the `with_*` methods.

use core::time::Duration;
use wscore::Config;

/// Every field set away from its default, in a `const`, so the test also
/// proves each `with_*` is a `const fn`.
const CUSTOM: Config = Config::DEFAULT
    .with_max_frame_size(1 << 10)
    .with_max_message_size(1 << 20)
    .with_streaming(true)
    .with_auto_pong(false)
    .with_auto_close(false)
    .with_fragment_size(Some(512))
    .with_keepalive_interval(Some(Duration::from_secs(5)))
    .with_keepalive_timeout(Some(Duration::from_secs(2)))
    .with_close_timeout(None)
    .with_buffer_release(None);

#[test]
fn a_fully_custom_config_builds_in_one_expression() {
    let mut expected = Config::default();
    expected.max_frame_size = 1 << 10;
    expected.max_message_size = 1 << 20;
    expected.streaming = true;
    expected.auto_pong = false;
    expected.auto_close = false;
    expected.fragment_size = Some(512);
    expected.keepalive_interval = Some(Duration::from_secs(5));
    expected.keepalive_timeout = Some(Duration::from_secs(2));
    expected.close_timeout = None;
    expected.buffer_release = None;
    assert_eq!(CUSTOM, expected);
    // Every field differs from the default, so none was left out above.
    let default = Config::default();
    assert_ne!(CUSTOM.max_frame_size, default.max_frame_size);
    assert_ne!(CUSTOM.max_message_size, default.max_message_size);
    assert_ne!(CUSTOM.streaming, default.streaming);
    assert_ne!(CUSTOM.auto_pong, default.auto_pong);
    assert_ne!(CUSTOM.auto_close, default.auto_close);
    assert_ne!(CUSTOM.fragment_size, default.fragment_size);
    assert_ne!(CUSTOM.keepalive_interval, default.keepalive_interval);
    assert_ne!(CUSTOM.keepalive_timeout, default.keepalive_timeout);
    assert_ne!(CUSTOM.close_timeout, default.close_timeout);
    assert_ne!(CUSTOM.buffer_release, default.buffer_release);
}

#[test]
fn default_and_the_const_agree() {
    assert_eq!(Config::default(), Config::DEFAULT);
}
