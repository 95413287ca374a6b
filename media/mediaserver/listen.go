package mediaserver

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ropehq/rope/media"
)

// ListenPolicy bounds where clients may have transports and WebRtcServers
// listen (Options.Listen): the listen infos they give (listenInfo,
// rtcpListenInfo, listenInfos of createXxxTransport, createWebRtcServer
// and pipeToRouter) must name one of IPs and ports inside [MinPort,
// MaxPort], as port or portRange; a createWorker's rtcMinPort and
// rtcMaxPort must lie inside the range too, and when a client leaves
// them out they default to it. Listen infos the server fills in itself
// (Options.ListenInfo) are the operator's and not checked.
//
// An IPv6 unspecified ip ("::") without the ipv6Only flag listens on
// IPv4 too (dual-stack), so it needs both "::" and "0.0.0.0" allowed;
// a port and a port range given together must both be allowed (which
// one is used depends on the transport kind); the udpReusePort flag
// needs AllowUDPReusePort.
type ListenPolicy struct {
	// IPs are the addresses clients may listen on. An unspecified one
	// ("0.0.0.0", "::") allows every address of its family. Empty: any
	// address.
	IPs []string
	// MinPort and MaxPort bound the ports. Both 0: any port.
	MinPort, MaxPort uint16
	// AllowUDPReusePort lets clients set the udpReusePort flag, with
	// which their transports can share a port with, and take datagrams
	// from, other transports that set it. Default false: refused.
	AllowUDPReusePort bool
}

// checkListenInfo checks one listen info a client gave.
func (p *ListenPolicy) checkListenInfo(field string, li *media.TransportListenInfo) error {
	if p == nil || li == nil {
		return nil
	}
	if err := p.checkIP(field+".ip", li.IP); err != nil {
		return err
	}
	if err := p.checkDualStack(field, li); err != nil {
		return err
	}
	if li.Flags != nil && li.Flags.UDPReusePort && !p.AllowUDPReusePort {
		return &media.ParamError{Field: field + ".flags.udpReusePort", Reason: "not allowed by this server"}
	}
	if li.Port != 0 {
		if err := p.checkPorts(field+".port", li.Port, li.Port); err != nil {
			return err
		}
	}
	if li.PortRange != nil {
		return p.checkPorts(field+".portRange", li.PortRange.Min, li.PortRange.Max)
	}
	return nil
}

// checkDualStack allows a dual-stack "::" only where IPv4's unspecified
// address is allowed too.
func (p *ListenPolicy) checkDualStack(field string, li *media.TransportListenInfo) error {
	ip, err := netip.ParseAddr(li.IP)
	if err != nil || len(p.IPs) == 0 || !ip.Is6() || !ip.IsUnspecified() || (li.Flags != nil && li.Flags.IPv6Only) {
		return nil
	}
	return p.checkIP(field+".ip", "0.0.0.0")
}

func (p *ListenPolicy) checkListenInfos(field string, infos []media.TransportListenInfo) error {
	for i := range infos {
		if err := p.checkListenInfo(fmt.Sprintf("%s[%d]", field, i), &infos[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkIP allows an address of IPs. An address that does not parse is
// left to the implementation, which says why.
func (p *ListenPolicy) checkIP(field, s string) error {
	if len(p.IPs) == 0 {
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	ip = ip.Unmap()
	for _, a := range p.IPs {
		allowed, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		allowed = allowed.Unmap()
		if allowed == ip || (allowed.IsUnspecified() && allowed.Is4() == ip.Is4()) {
			return nil
		}
	}
	return &media.ParamError{Field: field, Reason: fmt.Sprintf("%s is not an address this server listens on (%s)", s, strings.Join(p.IPs, ", "))}
}

// checkPorts allows [lo, hi] inside the policy's range.
func (p *ListenPolicy) checkPorts(field string, lo, hi uint16) error {
	if p.MinPort == 0 && p.MaxPort == 0 {
		return nil
	}
	if lo < p.MinPort || hi > p.MaxPort || lo > hi {
		what := fmt.Sprintf("%d-%d", lo, hi)
		if lo == hi {
			what = fmt.Sprint(lo)
		}
		return &media.ParamError{Field: field, Reason: fmt.Sprintf("%s outside the server's port range %d-%d", what, p.MinPort, p.MaxPort)}
	}
	return nil
}

// applyWorkerPorts fills a createWorker's missing rtcMinPort and
// rtcMaxPort with the range and checks them.
func (p *ListenPolicy) applyWorkerPorts(w *media.WorkerSettings) error {
	if p == nil || (p.MinPort == 0 && p.MaxPort == 0) {
		return nil
	}
	if w.RtcMinPort == 0 {
		w.RtcMinPort = p.MinPort
	}
	if w.RtcMaxPort == 0 {
		w.RtcMaxPort = p.MaxPort
	}
	if w.RtcMinPort > w.RtcMaxPort {
		return &media.ParamError{Field: "rtcMinPort", Reason: "greater than rtcMaxPort"}
	}
	return p.checkPorts("rtcMinPort-rtcMaxPort", w.RtcMinPort, w.RtcMaxPort)
}

// CheckListenInfos checks listen infos a client gave by another way than
// the media methods (a mafaldaserver's createMafaldaRouter) against
// Options.Listen; field names them in the error.
func (s *Server) CheckListenInfos(field string, infos []media.TransportListenInfo) error {
	return s.opts.Listen.checkListenInfos(field, infos)
}

// ApplyWorkerSettings fills what a client's worker settings leave empty
// as createWorker does (Options.WorkerSettings, then Options.Listen's
// range) and checks their ports against Options.Listen and that they name
// no files (Options.AllowWorkerFiles).
func (s *Server) ApplyWorkerSettings(w *media.WorkerSettings) error {
	if err := s.checkWorkerFiles(w); err != nil {
		return err
	}
	s.applyWorkerDefaults(w)
	return s.opts.Listen.applyWorkerPorts(w)
}
