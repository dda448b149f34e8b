import {
  DNS_LABEL,
  EKS_CLUSTER_NAME,
  HOSTNAME,
  SERVICE_NAME,
  SQL_IDENTIFIER,
  WORKLOAD_NAME,
  certificateSourceProblem,
  awsEndpointRegion,
  checkApiEnvName,
  checkBucketName,
  checkCidr,
  checkEndpoint,
  endpointCloud,
  checkPinnedImage,
  checkPostgresPassword,
  checkRedisPassword,
  checkRegion,
  checkUrl,
  closestMatch,
  dnsLabel,
  editDistance,
  studioLacksMeta,
} from "../../components/config/checks";

describe("values and credentials", () => {
  test.each([
    ["postgres:15.8-bookworm", undefined],
    ["ghcr.io/org/app@sha256:" + "a".repeat(64), undefined],
    ["localhost:5000/app:1.2.3", undefined],
    ["redis", "has no tag"],
    ["redis:latest", "latest"],
    ["Bad Image:1", "not a valid image reference"],
  ])("checkPinnedImage(%s)", (ref, fragment) => {
    const problem = checkPinnedImage(ref);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["10.0.0.0/8", undefined],
    ["0.0.0.0/0", undefined],
    ["192.168.1.0/24", undefined],
    ["256.0.0.0/8", "octet"],
    ["10.0.0.0", "not an IPv4 CIDR"],
    ["10.0.0.5/24", "host bits"],
  ])("checkCidr(%s)", (cidr, fragment) => {
    const problem = checkCidr(cidr);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["a".repeat(16), undefined],
    ["x".repeat(128), undefined],
    ["!#$%&()*+,-.:;<=>?[]^_`{|}~", undefined],
    ["a".repeat(15), "16 to 128"],
    ["a".repeat(129), "16 to 128"],
    ['sixteen-chars-"-long', '/, " or @'],
    ["sixteen-chars-\t-long", "printable ASCII"],
    ["sixteen-chars-é-long", "printable ASCII"],
    ["sixteen-chars-\\-long", "redis.conf"],
  ])("checkRedisPassword(%j)", (value, fragment) => {
    const problem = checkRedisPassword(value);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["a".repeat(8), undefined],
    ["x".repeat(128), undefined],
    ["!#$%&'()*+,-.:;<=>?[\\]^_`{|}~", undefined],
    ["a".repeat(7), "8 to 128"],
    ["a".repeat(129), "8 to 128"],
    ['eight"chars', '/, ", @ or a space'],
    ["eight@chars", '/, ", @ or a space'],
    ["eight\nchars", "printable ASCII"],
  ])("checkPostgresPassword(%j)", (value, fragment) => {
    const problem = checkPostgresPassword(value);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["LOG_LEVEL", undefined],
    ["_PRIVATE", undefined],
    ["A1", undefined],
    ["1A", "POSIX"],
    ["log_level", "POSIX"],
    ["MY-KEY", "POSIX"],
    ["", "POSIX"],
    ["NODE_ENV", "platform sets"],
    ["NODE_EXTRA_CA_CERTS", "platform sets"],
  ])("checkApiEnvName(%j)", (name, fragment) => {
    const problem = checkApiEnvName(name);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["https://api.example.ca", undefined],
    ["http://localhost:8000", undefined],
    ["ftp://files.example.ca", "http(s)"],
    ["api.example.ca", "not a URL"],
  ])("checkUrl(%s)", (url, fragment) => {
    const problem = checkUrl(url);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test("a region is allowed only if it is one of the cloud's two Canadian regions", () => {
    expect(checkRegion("aws", "ca-west-1")).toBeUndefined();
    expect(checkRegion("gcp", "northamerica-northeast2")).toBeUndefined();
    expect(checkRegion("aws", "us-east-1")).toBe("is outside Canada; allowed aws regions: ca-central-1, ca-west-1");
    expect(checkRegion("gcp", "ca-central-1")).toContain("northamerica-northeast1, northamerica-northeast2");
  });
});

describe("names follow one DNS-label rule", () => {
  test.each([
    ["a", true],
    ["northstack-prod", true],
    ["0abc", true],
    ["a".repeat(63), true],
    ["a".repeat(64), false],
    ["-abc", false],
    ["abc-", false],
    ["Abc", false],
    ["a_b", false],
    ["a.b", false],
    ["", false],
  ])("DNS_LABEL %j: %s", (name, ok) => {
    expect(DNS_LABEL.test(name)).toBe(ok);
  });

  test("a workload name starts with a letter and has at most 52 characters", () => {
    expect(WORKLOAD_NAME.test(`k${"a".repeat(51)}`)).toBe(true);
    expect(WORKLOAD_NAME.test(`k${"a".repeat(52)}`)).toBe(false);
    expect(WORKLOAD_NAME.test("0abc")).toBe(false);
    expect(WORKLOAD_NAME.test("kong-2")).toBe(true);
  });

  test("an extra service's name starts with a letter and has at most 30 characters", () => {
    expect(SERVICE_NAME.test("b".repeat(30))).toBe(true);
    expect(SERVICE_NAME.test("b".repeat(31))).toBe(false);
    expect(SERVICE_NAME.test("1billing")).toBe(false);
  });

  test("dnsLabel builds every variant from the same grammar", () => {
    expect(dnsLabel().source).toBe(DNS_LABEL.source);
    expect(dnsLabel(2).test("ab")).toBe(true);
    expect(dnsLabel(2).test("abc")).toBe(false);
    expect(dnsLabel(63, { startsWithLetter: true }).test("9a")).toBe(false);
  });

  test.each([
    ["api.example.ca", true],
    ["gateway-tls", true],
    ["a.b.c", true],
    [`${"a".repeat(63)}.ca`, true],
    [`${"a".repeat(64)}.ca`, false],
    [Array.from({ length: 64 }, () => "abc").join("."), false],
    ["Api.example.ca", false],
    ["api..example.ca", false],
    [".example.ca", false],
    ["api.example.ca.", false],
  ])("HOSTNAME %j: %s", (name, ok) => {
    expect(HOSTNAME.test(name)).toBe(ok);
  });

  test("SQL identifiers are lower-case and at most 63 characters", () => {
    expect(SQL_IDENTIFIER.test("public")).toBe(true);
    expect(SQL_IDENTIFIER.test("_app_1")).toBe(true);
    expect(SQL_IDENTIFIER.test("x".repeat(63))).toBe(true);
    expect(SQL_IDENTIFIER.test("x".repeat(64))).toBe(false);
    expect(SQL_IDENTIFIER.test("1app")).toBe(false);
    expect(SQL_IDENTIFIER.test("App")).toBe(false);
  });

  test("EKS cluster names allow letters, digits, '-' and '_' up to 100 characters", () => {
    expect(EKS_CLUSTER_NAME.test("Team_eks-1")).toBe(true);
    expect(EKS_CLUSTER_NAME.test("x".repeat(100))).toBe(true);
    expect(EKS_CLUSTER_NAME.test("x".repeat(101))).toBe(false);
    expect(EKS_CLUSTER_NAME.test("-eks")).toBe(false);
    expect(EKS_CLUSTER_NAME.test("team eks")).toBe(false);
  });
});

describe("rules config and components share", () => {
  test("Studio without postgres-meta is rejected, and only that combination", () => {
    expect(studioLacksMeta({ studio: true, meta: false })).toBe(true);
    expect(studioLacksMeta({ studio: true, meta: true })).toBe(false);
    expect(studioLacksMeta({ studio: false, meta: false })).toBe(false);
  });

  test.each([
    ["letsencrypt", undefined, undefined],
    [undefined, "gateway-tls", undefined],
    ["letsencrypt", "", undefined],
    [undefined, undefined, "none"],
    ["", "", "none"],
    ["letsencrypt", "gateway-tls", "both"],
  ])("the gateway certificate comes from exactly one source (issuer %j, secret %j)", (issuer, secret, problem) => {
    expect(certificateSourceProblem(issuer, secret)).toBe(problem);
  });
});

describe("an off-host backup bucket and its endpoint", () => {
  test.each(["abc", "northstack-dev-backups", "backups.example.ca", "a".repeat(63)])("bucket %s is accepted", (b) => {
    expect(checkBucketName(b)).toBeUndefined();
  });
  test.each([
    ["ab", "is not a bucket name"],
    ["a".repeat(64), "is not a bucket name"],
    ["Backups", "is not a bucket name"],
    ["-backups", "is not a bucket name"],
    ["back..ups", "two dots"],
    ["10.0.0.1", "IP address"],
    ["xn--backups", "reserves"],
    ["backups-s3alias", "reserves"],
  ])("bucket %s is refused: %s", (b, problem) => {
    expect(checkBucketName(b)).toContain(problem);
  });

  test.each(["s3.ca-central-1.amazonaws.com", "minio.lan:9000", "192.168.1.20:9000", "localhost"])(
    "endpoint %s is accepted",
    (e) => {
      expect(checkEndpoint(e)).toBeUndefined();
    },
  );
  test.each([
    ["https://minio.lan:9000", "has a scheme"],
    ["key:secret@minio.lan", "user name or password"],
    ["minio.lan:0", "outside 1-65535"],
    ["minio.lan/bucket", "is not host[:port]"],
    ["300.1.1.1", "neither a DNS host name nor an IPv4 address"],
    ["minio_lan", "neither a DNS host name nor an IPv4 address"],
  ])("endpoint %s is refused: %s", (e, problem) => {
    expect(checkEndpoint(e)).toContain(problem);
  });

  test.each([
    ["s3.ca-central-1.amazonaws.com", "aws", "ca-central-1"],
    ["s3.dualstack.ca-west-1.amazonaws.com", "aws", "ca-west-1"],
    ["bucket.s3.us-east-2.amazonaws.com", "aws", "us-east-2"],
    ["s3-ca-central-1.amazonaws.com", "aws", "ca-central-1"],
    ["s3.amazonaws.com", "aws", "us-east-1"],
    ["storage.googleapis.com", "gcp", undefined],
    ["minio.lan", undefined, undefined],
    ["amazonaws.com.example.ca", undefined, undefined],
  ])("%s is served by %s, in region %s", (host, cloud, region) => {
    expect(endpointCloud(host)).toBe(cloud);
    if (cloud === "aws") expect(awsEndpointRegion(host)).toBe(region);
  });
});

describe("a misspelled name is matched to the nearest known one", () => {
  test.each([
    ["", "", 0],
    ["abc", "", 3],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
    ["flaw", "lawn", 2],
    ["apiReplicas", "apiReplicas", 0],
    ["apiReplica", "apiReplicas", 1],
  ])("editDistance(%j, %j) is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  test("case counts as a difference unless ignoreCase", () => {
    expect(editDistance("ApiPort", "apiport")).toBe(2);
    expect(editDistance("ApiPort", "apiport", { ignoreCase: true })).toBe(0);
  });

  test("closestMatch picks the nearest, the first on a tie, and none beyond maxDistance", () => {
    const known = ["apiPort", "apiReplicas", "gatewayPort"];
    expect(closestMatch("apiReplica", known)).toBe("apiReplicas");
    expect(closestMatch("ab", ["aa", "bb"])).toBe("aa");
    expect(closestMatch("zzzzzzzz", known, { maxDistance: 2 })).toBeUndefined();
    expect(closestMatch("zzzzzzzz", known)).toBe("apiPort");
    expect(closestMatch("APIPORT", known, { ignoreCase: true, maxDistance: 0 })).toBe("apiPort");
    expect(closestMatch("x", [])).toBeUndefined();
  });
});
