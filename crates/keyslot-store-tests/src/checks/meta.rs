//! Deployment metadata: set once, never overwritten.

check!(meta_is_set_once, |store| async move {
    assert_eq!(store.meta("k").await.unwrap(), None);
    assert_eq!(store.init_meta("k", b"first").await.unwrap(), b"first");
    assert_eq!(store.init_meta("k", b"second").await.unwrap(), b"first");
    assert_eq!(store.meta("k").await.unwrap(), Some(b"first".to_vec()));
});
