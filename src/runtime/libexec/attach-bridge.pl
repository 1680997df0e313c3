#!/usr/bin/perl
# attach-bridge: relays between conmon's SOCK_SEQPACKET attach socket and
# plain pipes, because Node cannot open SEQPACKET sockets.
#
# Usage: attach-bridge.pl SOCKET_PATH [WAIT_MS]
#   WAIT_MS > 0: poll for the socket to appear for up to WAIT_MS (exec
#   sessions, whose socket conmon creates after we start).
#
# Protocol on stdout (to the caller), one frame per conmon packet:
#   [1 byte stream id][4 bytes big-endian length][data]
#   stream 2 = stdout, 3 = stderr (conmon's ids); stream 0 = control:
#   "connected" once the socket is connected.
# stdin: raw bytes, sent to conmon (the process's stdin) in packets of at
#   most 8 KiB. EOF on stdin shuts the socket's write side, on which conmon
#   closes the process's stdin (when it runs with -i).
# Exits 0 when conmon closes the socket, 2 when it cannot connect.
use strict;
use warnings;
use Socket qw(AF_UNIX SOCK_SEQPACKET SHUT_WR pack_sockaddr_un);
use Errno qw(EAGAIN EWOULDBLOCK EINTR ENOENT ECONNREFUSED);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK O_RDONLY);
use Time::HiRes qw(sleep time);

my ($path, $wait_ms) = @ARGV;
die "usage: attach-bridge.pl SOCKET [WAIT_MS]\n" unless defined $path;
$wait_ms = 0 unless defined $wait_ms;
$SIG{PIPE} = 'IGNORE';

binmode STDIN;
binmode STDOUT;
my $out = select(STDOUT); $| = 1; select($out);

sub frame {
    my ($id, $data) = @_;
    my $buf = pack('CN', $id, length $data) . $data;
    my $off = 0;
    while ($off < length $buf) {
        my $n = syswrite(STDOUT, $buf, length($buf) - $off, $off);
        if (!defined $n) { next if $! == EINTR; exit 0; }
        $off += $n;
    }
}

my $sock;
my $deadline = time() + $wait_ms / 1000;
while (1) {
    socket($sock, AF_UNIX, SOCK_SEQPACKET, 0) or do { print STDERR "attach-bridge: socket: $!\n"; exit 2; };
    # sun_path holds 107 bytes: reach a longer path through /proc/self/fd.
    my ($dh, $addr) = (undef, $path);
    if (length($path) > 100 && $path =~ m{^(.*)/([^/]+)$}) {
        my ($dir, $base) = ($1, $2);
        if (sysopen($dh, $dir, O_RDONLY)) { $addr = "/proc/self/fd/" . fileno($dh) . "/$base"; }
        else { $dh = undef; $addr = undef; }
    }
    my $ok = defined $addr && connect($sock, pack_sockaddr_un($addr));
    my $err = defined $addr ? $! : ENOENT;
    close $dh if defined $dh;
    last if $ok;
    close $sock;
    if (($err == ENOENT || $err == ECONNREFUSED) && time() < $deadline) { sleep 0.001; next; }
    print STDERR "attach-bridge: connect $path: $err\n";
    exit 2;
}
my $flags = fcntl($sock, F_GETFL, 0);
fcntl($sock, F_SETFL, $flags | O_NONBLOCK);
frame(0, "connected");

my $stdin_open = 1;
my $pending = '';   # stdin bytes not yet accepted by the socket
while (1) {
    my ($rin, $win) = ('', '');
    vec($rin, fileno($sock), 1) = 1;
    vec($rin, fileno(STDIN), 1) = 1 if $stdin_open && $pending eq '';
    vec($win, fileno($sock), 1) = 1 if $pending ne '';
    my $n = select(my $rout = $rin, my $wout = $win, undef, undef);
    if ($n < 0) { next if $! == EINTR; die "attach-bridge: select: $!\n"; }
    if (vec($rout, fileno($sock), 1)) {
        my $pkt;
        my $r = sysread($sock, $pkt, 65536);
        if (!defined $r) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            exit 0;
        }
        exit 0 if $r == 0;
        frame(ord(substr($pkt, 0, 1)), substr($pkt, 1)) if $r > 1;
    }
    if ($pending ne '' && vec($wout, fileno($sock), 1)) {
        my $chunk = substr($pending, 0, 8192);
        my $w = send($sock, $chunk, 0);
        if (defined $w) { substr($pending, 0, $w) = ''; }
        elsif (!($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR)) { $pending = ''; $stdin_open = 0; }
        if ($pending eq '' && !$stdin_open) { shutdown($sock, SHUT_WR); }
        next;
    }
    if ($stdin_open && $pending eq '' && vec($rout, fileno(STDIN), 1)) {
        my $r = sysread(STDIN, my $data, 8192);
        next if !defined $r && $! == EINTR;
        if (!$r) {
            $stdin_open = 0;
            shutdown($sock, SHUT_WR);
            next;
        }
        $pending = $data;
    }
}
