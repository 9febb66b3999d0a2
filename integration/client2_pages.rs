//! `/client2/` serves the WebSDK package the way WCS does, and `/` points to the demo page.

use crate::common::Server;

#[tokio::test]
async fn serves_the_sdk_folder_under_client2() {
    let sdk = std::env::temp_dir().join(format!("ferrophone-client2-{}", std::process::id()));
    let page_dir = sdk.join("examples/demo/streaming/two_way_streaming");
    std::fs::create_dir_all(&page_dir).unwrap();
    std::fs::write(sdk.join("flashphoner.js"), "var Flashphoner = {};").unwrap();
    std::fs::write(page_dir.join("two_way_streaming.html"), "<html>two way</html>").unwrap();
    let server = Server::start_with(&[("web.client2_dir", sdk.to_str().unwrap())]);

    let (status, body) = server.rest("GET", "/client2/flashphoner.js", None);
    assert_eq!((status, body.as_str()), (200, "var Flashphoner = {};"));
    let (status, body) = server.rest("GET", "/client2/examples/demo/streaming/two_way_streaming/two_way_streaming.html", None);
    assert_eq!((status, body.as_str()), (200, "<html>two way</html>"));
    let (status, _) = server.rest("GET", "/client2/nope.js", None);
    assert_eq!(status, 404);
    let (status, index) = server.rest("GET", "/", None);
    assert_eq!(status, 200);
    assert!(index.contains("two_way_streaming.html"), "{index}");
    std::fs::remove_dir_all(&sdk).unwrap();
}

#[tokio::test]
async fn says_how_to_install_a_missing_sdk() {
    let server = Server::start_with(&[("web.client2_dir", "/nonexistent/websdk")]);
    let (status, body) = server.rest("GET", "/client2/flashphoner.js", None);
    assert_eq!(status, 404);
    assert!(body.contains("scripts/setup.sh"), "{body}");
}
