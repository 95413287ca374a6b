package media_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ropehq/rope/media"
)

// keysOf marshals v and returns its top-level JSON keys.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestJSONShapes pins the mediasoup JSON names of the API's data types.
func TestJSONShapes(t *testing.T) {
	one, yes := 1.0, true
	for _, tc := range []struct {
		name string
		v    any
		want []string
	}{
		{"TransportTuple", media.TransportTuple{LocalAddress: "1.2.3.4", LocalPort: 1, RemoteIP: "5.6.7.8", RemotePort: 2, Protocol: "udp"},
			[]string{"localAddress", "localPort", "protocol", "remoteIp", "remotePort"}},
		{"TransportListenInfo", media.TransportListenInfo{Protocol: "udp", IP: "0.0.0.0", AnnouncedAddress: "a", Port: 1, PortRange: &media.PortRange{Min: 1, Max: 2}},
			[]string{"announcedAddress", "ip", "port", "portRange", "protocol"}},
		{"SrtpParameters", media.SrtpParameters{CryptoSuite: media.AESCM128HMACSHA1_80, KeyBase64: "k"}, []string{"cryptoSuite", "keyBase64"}},
		{"PlainTransportConnectOptions", media.PlainTransportConnectOptions{IP: "1.1.1.1", Port: 1, RtcpPort: 2},
			[]string{"ip", "port", "rtcpPort"}},
		{"ProducerScore", media.ProducerScore{EncodingIdx: 0, SSRC: 1, RID: "r", Score: 10}, []string{"encodingIdx", "rid", "score", "ssrc"}},
		{"ConsumerScore", media.ConsumerScore{}, []string{"producerScore", "producerScores", "score"}},
		{"RtpStreamStats", media.RtpStreamStats{RoundTripTime: &one},
			[]string{"bitrate", "byteCount", "firCount", "fractionLost", "kind", "mimeType", "nackCount", "nackPacketCount",
				"packetCount", "packetsDiscarded", "packetsLost", "packetsRepaired", "packetsRetransmitted", "pliCount",
				"roundTripTime", "score", "ssrc", "timestamp", "type"}},
		{"TransportStats", media.TransportStats{RtcpMux: &yes},
			[]string{"bytesReceived", "bytesSent", "probationBytesSent", "probationSendBitrate", "recvBitrate", "rtcpMux",
				"rtpBytesReceived", "rtpBytesSent", "rtpRecvBitrate", "rtpSendBitrate", "rtxBytesReceived", "rtxBytesSent",
				"rtxRecvBitrate", "rtxSendBitrate", "sendBitrate", "timestamp", "transportId", "type"}},
		{"RouterDump", media.RouterDump{},
			[]string{"id", "mapConsumerIdProducerId", "mapDataConsumerIdDataProducerId", "mapDataProducerIdDataConsumerIds",
				"mapProducerIdConsumerIds", "mapProducerIdObserverIds", "rtpObserverIds", "transportIds"}},
		{"WorkerResourceUsage", media.WorkerResourceUsage{},
			[]string{"ru_idrss", "ru_inblock", "ru_isrss", "ru_ixrss", "ru_majflt", "ru_maxrss", "ru_minflt", "ru_msgrcv",
				"ru_msgsnd", "ru_nivcsw", "ru_nsignals", "ru_nswap", "ru_nvcsw", "ru_oublock", "ru_stime", "ru_utime"}},
		{"ConsumerOptions", media.ConsumerOptions{ProducerID: "p", Paused: true}, []string{"paused", "producerId"}},
		{"DataProducerDump", media.DataProducerDump{}, []string{"id", "label", "paused", "protocol", "type"}},
		{"WebRtcServerDump", media.WebRtcServerDump{},
			[]string{"id", "localIceUsernameFragments", "tcpServers", "tupleHashes", "udpSockets", "webRtcTransportIds"}},
		{"IPPort", media.IPPort{}, []string{"ip", "port"}},
		{"IceUsernameFragment", media.IceUsernameFragment{}, []string{"localIceUsernameFragment", "webRtcTransportId"}},
		{"TupleHash", media.TupleHash{}, []string{"tupleHash", "webRtcTransportId"}},
		{"WebRtcServerOptions", media.WebRtcServerOptions{AppData: media.AppData{"a": 1}}, []string{"appData", "listenInfos"}},
		// WebRtcServer is a Go value; over ROPE it travels as webRtcServerId.
		{"WebRtcTransportOptions", media.WebRtcTransportOptions{EnableTCP: &yes}, []string{"enableTcp"}},
		{"WebRtcTransportStats", media.TransportStats{IceRole: "controlled", IceState: "completed", DtlsState: "connected",
			IceSelectedTuple: &media.TransportTuple{}},
			[]string{"bytesReceived", "bytesSent", "dtlsState", "iceRole", "iceSelectedTuple", "iceState", "probationBytesSent",
				"probationSendBitrate", "recvBitrate", "rtpBytesReceived", "rtpBytesSent", "rtpRecvBitrate", "rtpSendBitrate",
				"rtxBytesReceived", "rtxBytesSent", "rtxRecvBitrate", "rtxSendBitrate", "sendBitrate", "timestamp", "transportId", "type"}},
	} {
		if got := keysOf(t, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("%s keys = %v, want %v", tc.name, got, tc.want)
		}
	}
}
