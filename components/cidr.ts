/** IPv4 CIDR arithmetic shared by the clouds' network plans. Pure. */

/**
 * Splits a VPC CIDR into equal subnets of `newBits` more prefix bits, in order. Used for the subnets
 * of a created AWS VPC and the GCP subnetwork ranges.
 */
export function subnetCidrs(vpcCidr: string, newBits: number, count: number): string[] {
  const [base, prefixText] = vpcCidr.split("/");
  const prefix = Number(prefixText) + newBits;
  const start = base.split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
  const size = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, i) => {
    const address = start + i * size;
    return `${[24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".")}/${prefix}`;
  });
}
