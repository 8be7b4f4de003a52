terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.30, < 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5, < 4.0"
    }
  }

  # Partial configuration: bucket, region and lock table come from
  # `terraform init -backend-config=backend.hcl` (see backend.hcl.example)
  # or -backend-config="bucket=..." flags in CI.
  backend "s3" {
    key     = "delivery-standard/prod/terraform.tfstate"
    encrypt = true
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}
