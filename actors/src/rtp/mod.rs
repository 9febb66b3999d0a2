//! RTP for the SIP side of calls: packets, a jitter buffer, RFC 4733 telephone events and
//! RTCP reports. Free of actix.
