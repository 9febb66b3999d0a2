// Injected into a page that loaded the official WebSDK: small promise wrappers over its API,
// and a log of every status each stream went through.
window.fpTest = (function () {
  const S = Flashphoner.constants.SESSION_STATUS;
  const ST = Flashphoner.constants.STREAM_STATUS;
  const statuses = {};
  const events = {};

  function connect(url) {
    return new Promise((resolve, reject) => {
      Flashphoner.createSession({ urlServer: url })
        .on(S.ESTABLISHED, resolve)
        .on(S.FAILED, () => reject(new Error('session FAILED')));
    });
  }

  function display(id) {
    const div = document.createElement('div');
    div.id = id;
    div.style.width = '320px';
    div.style.height = '240px';
    document.body.appendChild(div);
    return div;
  }

  // Resolves with the stream on `success`; rejects with the info of FAILED.
  function start(session, options, success, verb) {
    return new Promise((resolve, reject) => {
      const stream = session.createStream(options);
      const log = statuses[options.name + ':' + verb] = [];
      const record = (s) => log.push({ status: s.status(), info: s.getInfo() });
      for (const st of [ST.PUBLISHING, ST.PLAYING, ST.UNPUBLISHED, ST.STOPPED, ST.FAILED]) {
        stream.on(st, (s) => {
          record(s);
          if (st === success) resolve(s);
          if (st === ST.FAILED) reject(new Error(s.getInfo()));
        });
      }
      stream.on(Flashphoner.constants.STREAM_EVENT, (e) => (events[options.name] = events[options.name] || []).push(e));
      stream[verb]();
    });
  }

  function publish(session, name, stripCodecs) {
    return start(session, { name, display: display('pub-' + name), stripCodecs, cacheLocalResources: true, receiveAudio: false, receiveVideo: false }, ST.PUBLISHING, 'publish');
  }

  function play(session, name, stripCodecs) {
    return start(session, { name, display: display('play-' + name), stripCodecs }, ST.PLAYING, 'play');
  }

  // Inbound packet counts and codecs of a played stream, from the SDK's getStats.
  function inbound(stream) {
    return new Promise((resolve) => stream.getStats((stats) => {
      const i = stats.inboundStream || {};
      resolve({
        audioPackets: i.audio ? i.audio.packetsReceived : 0,
        videoPackets: i.video ? i.video.packetsReceived : 0,
        videoCodec: i.video ? i.video.codec : null,
        audioCodec: i.audio ? i.audio.codec : null,
      });
    }));
  }

  // The sender reports the browser took from the server (remote-outbound-rtp), per kind: what
  // it synchronises audio and video with.
  function senderReports(stream) {
    return new Promise((resolve) => stream.getStats((stats) => {
      const reports = { audio: 0, video: 0 };
      for (const r of stats['remote-outbound-rtp'] || []) if (r.kind in reports && r.packetsSent > 0) reports[r.kind] = r.reportsSent;
      resolve(reports);
    }, true));
  }

  return { connect, publish, play, inbound, senderReports, statuses, events };
})();
