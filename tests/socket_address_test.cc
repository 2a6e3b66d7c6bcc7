// gaio::net::SocketAddress parsing and printing, InterfaceIndex, and the UDP
// socket helpers of //net. Needs only the host's loopback interface.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "net/address.h"
#include "net/udp.h"
#include "poller/posix_error.h"

namespace gaio::net {
namespace {

TEST(SocketAddress, ParsesIpv4AndIpv6AndPrintsThemBack) {
  for (const char* text : {"127.0.0.1:80", "0.0.0.0:0", "239.255.0.1:65535", "[::1]:9000",
                           "[ff02::1%1]:5000", "[::ffff:10.0.0.1]:7"}) {
    absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status();
    EXPECT_EQ(a->ToString(), text);
    absl::StatusOr<SocketAddress> again = SocketAddress::Parse(a->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *a);
  }
  absl::StatusOr<SocketAddress> v6 = SocketAddress::Parse("[ff02::1%lo]:5000");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->port(), 5000);
  EXPECT_EQ(v6->scope_id(), if_nametoindex("lo"));
  EXPECT_EQ(v6->size(), sizeof(sockaddr_in6));
  EXPECT_TRUE(v6->is_multicast());
  absl::StatusOr<SocketAddress> v4 = SocketAddress::Parse("239.1.2.3:5000");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->size(), sizeof(sockaddr_in));
  EXPECT_TRUE(v4->is_multicast());
  EXPECT_EQ(v4->IpString(), "239.1.2.3");
  EXPECT_TRUE(SocketAddress::Parse("224.0.0.0:1")->is_multicast());
  EXPECT_FALSE(SocketAddress::Parse("223.255.255.255:1")->is_multicast());
  EXPECT_TRUE(SocketAddress::Parse("0.0.0.0:1")->is_wildcard());
  EXPECT_TRUE(SocketAddress::Parse("[::]:1")->is_wildcard());
}

TEST(SocketAddress, RefusesWhatIsNotANumericAddressAndPort) {
  for (const char* text :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x",
        "localhost:80", "::1:80", "[::1]", "[::1]80", "[127.0.0.1]:80", "[::1:80", "1.2.3.4%lo:80",
        "[ff02::1%]:80", "300.1.1.1:80", "127.0.0.1: 80", ":80"}) {
    absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
    EXPECT_TRUE(absl::IsInvalidArgument(a.status())) << '"' << text << "\": " << a.status();
  }
  EXPECT_TRUE(absl::IsNotFound(SocketAddress::Parse("[ff02::1%nosuchif0]:80").status()));
}

TEST(SocketAddress, FromSockaddrChecksFamilyAndLength) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(42);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  absl::StatusOr<SocketAddress> a =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "127.0.0.1:42");
  EXPECT_TRUE(absl::IsInvalidArgument(
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin) - 1).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(SocketAddress::FromSockaddr(nullptr, 16).status()));
  sockaddr_storage unix_addr{};
  unix_addr.ss_family = AF_UNIX;
  EXPECT_TRUE(absl::IsInvalidArgument(
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&unix_addr), sizeof(unix_addr))
          .status()));
  EXPECT_EQ(SocketAddress().family(), AF_UNSPEC);
  EXPECT_EQ(SocketAddress().ToString(), "");
  EXPECT_EQ(SocketAddress::Any(AF_INET6, 7).ToString(), "[::]:7");
  EXPECT_EQ(SocketAddress::Any(AF_UNIX).size(), 0u);
}

TEST(InterfaceIndex, ResolvesNamesAndIndices) {
  const unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0u);
  EXPECT_EQ(*InterfaceIndex("lo"), lo);
  EXPECT_EQ(*InterfaceIndex(std::to_string(lo)), lo);
  EXPECT_EQ(*InterfaceIndex(""), 0u);
  EXPECT_TRUE(absl::IsNotFound(InterfaceIndex("nosuchif0").status()));
  EXPECT_TRUE(absl::IsNotFound(InterfaceIndex("0").status()));
  EXPECT_TRUE(absl::IsNotFound(InterfaceIndex("4294967295").status()));
  EXPECT_TRUE(absl::IsNotFound(InterfaceIndex("99999999999999999999").status()));
  EXPECT_TRUE(absl::IsNotFound(InterfaceIndex(std::string(64, 'x')).status()));
}

TEST(OpenUdpSocket, BindsAndReportsTheAddressOrTheErrno) {
  UdpOptions options;
  options.receive_buffer_bytes = 64 * 1024;
  absl::StatusOr<int> fd = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), options);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<SocketAddress> local = LocalAddress(*fd);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->IpString(), "127.0.0.1");
  EXPECT_NE(local->port(), 0);
  int rcvbuf = 0;
  socklen_t len = sizeof(rcvbuf);
  ASSERT_EQ(getsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);
  EXPECT_GE(rcvbuf, 64 * 1024);  // the kernel doubles it (capped by rmem_max)
  // The same address again, without SO_REUSEADDR / SO_REUSEPORT: in use.
  absl::StatusOr<int> second = OpenUdpSocket(*local);
  EXPECT_EQ(internal::ErrnoOf(second.status()), EADDRINUSE) << second.status();
  EXPECT_TRUE(absl::IsInvalidArgument(OpenUdpSocket(SocketAddress()).status()));
  options.receive_buffer_bytes = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(OpenUdpSocket(*local, options).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(LocalAddress(-1).status()));
  close(*fd);
}

// Past rmem_max with CAP_NET_ADMIN; PermissionDenied without.
TEST(OpenUdpSocket, ForcedBufferSizesPassRmemMaxOrArePermissionDenied) {
  UdpOptions options;
  options.receive_buffer_bytes = 16 << 20;
  options.force_buffer_sizes = true;
  absl::StatusOr<int> fd = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), options);
  if (!fd.ok()) {
    EXPECT_EQ(internal::ErrnoOf(fd.status()), EPERM) << fd.status();
    EXPECT_TRUE(absl::IsPermissionDenied(fd.status())) << fd.status();
    return;
  }
  int rcvbuf = 0;
  socklen_t len = sizeof(rcvbuf);
  ASSERT_EQ(getsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);
  EXPECT_GE(rcvbuf, 16 << 20);
  close(*fd);
}

}  // namespace
}  // namespace gaio::net
