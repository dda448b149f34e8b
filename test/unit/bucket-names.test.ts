/**
 * Bucket names on both clouds, side by side (docs/architecture.md, "Bucket names"): each names the
 * stack and the purpose once, and is made globally unique by the cloud account that owns it.
 */
import * as pulumi from "@pulumi/pulumi";
import { s3BucketName } from "../../components/aws/backup-bucket";
import { gcsBucketName, hardenedGcsBucket } from "../../components/gcp/backup-bucket";
import { runUnderMocks } from "../../scripts/lib/mock-program";

describe("GCS", () => {
  test("a project id that names the stack does not get the stack again", () => {
    expect(gcsBucketName("northstack-prod", "prod", "backups")).toBe("northstack-prod-backups");
    expect(gcsBucketName("northstack-prod", "prod", "backups-dr")).toBe("northstack-prod-backups-dr");
    expect(gcsBucketName("prod-northstack", "prod", "storage")).toBe("prod-northstack-storage");
    expect(gcsBucketName("acme-eu-prod-7", "eu-prod", "storage")).toBe("acme-eu-prod-7-storage");
  });

  test("any other project id is followed by the stack, as before", () => {
    expect(gcsBucketName("northstack-test", "prod", "backups")).toBe("northstack-test-prod-backups");
    // A stack name inside a longer part is not the stack: "production" is not "prod".
    expect(gcsBucketName("acme-production", "prod", "storage")).toBe("acme-production-prod-storage");
    expect(gcsBucketName("acme-platform", "Team_Staging", "storage")).toBe("acme-platform-team-staging-storage");
  });

  test("a name over 63 characters, or with google in it, fails naming the stack and the project", () => {
    expect(() => gcsBucketName("a-thirty-character-project-id1", "a-long-stack-name-here", "backups-dr")).toThrow(
      'GCS bucket name "a-thirty-character-project-id1-a-long-stack-name-here-backups-dr" for stack "a-long-stack-name-here" in project "a-thirty-character-project-id1" is not a valid bucket name (3-63 lower-case letters, digits and single \'-\', without "goog"); use a shorter stack name',
    );
    expect(() => gcsBucketName("my-google-proj", "prod", "storage")).toThrow(/without "goog"/);
    expect(() => gcsBucketName("", "prod", "storage")).toThrow(/"-prod-storage" .* is not a valid bucket name/);
  });

  test("the bucket a prod stack in project northstack-prod creates is northstack-prod-backups", async () => {
    class Holder extends pulumi.ComponentResource {
      constructor() {
        super("northstack:test:Holder", "holder", {}, {});
        this.registerOutputs({});
      }
    }
    const run = await runUnderMocks({
      stack: "prod",
      config: {},
      program: () => {
        hardenedGcsBucket(new Holder(), "backups", {
          projectId: "northstack-prod",
          location: "NORTHAMERICA-NORTHEAST1",
          forceDestroy: false,
          lifecycleRules: [],
        });
        return {};
      },
    });
    const bucket = run.resources.find((r) => r.type === "gcp:storage/bucket:Bucket");
    expect(bucket?.inputs.name).toBe("northstack-prod-backups");
  });
});

describe("S3 and GCS side by side", () => {
  test.each([
    ["prod", "backups", "northstack-prod"],
    ["staging", "storage", "northstack-staging"],
    ["prod", "backups-dr", "acme-platform"],
  ])("stack %s, purpose %s: each name holds the stack and the purpose exactly once", (stack, purpose, project) => {
    const s3 = s3BucketName(stack, purpose, "111122223333");
    const gcs = gcsBucketName(project, stack, purpose);
    for (const name of [s3, gcs]) {
      expect(name.split(/-/).filter((part) => part === stack)).toHaveLength(1);
      expect(name).toContain(`-${purpose}`);
    }
  });
});
